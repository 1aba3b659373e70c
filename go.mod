module consist

go 1.26.8
