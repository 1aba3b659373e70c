package txn

import (
	"consist/checker"
)

// IsCycle reports whether anomalies of kind k are dependency cycles
// (G0, G1c, G-single, G-nonadjacent, G2-item and their variants), whose
// steps each lead to the next and the last back to the first.
func IsCycle(k checker.Kind) bool {
	for _, v := range variant {
		for _, x := range v {
			if x == k {
				return true
			}
		}
	}
	return false
}
