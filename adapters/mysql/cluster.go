package mysql

import (
	"bytes"
	"consist/cluster"
	"context"
	"database/sql"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"

	"github.com/go-sql-driver/mysql"
)

const (
	mariadbPath        = "/usr/sbin/mariadbd"
	mariadbInstallPath = "/usr/bin/mariadb-install-db"
)

// mariadbKind is one MariaDB server on base, root without a password,
// with a database named consist. Commits are flushed to the log before
// they are acknowledged (innodb-flush-log-at-trx-commit=1), so kill -9
// loses nothing acknowledged.
var mariadbKind = &cluster.Layout{
	Kind:     "mariadb",
	Binaries: []string{mariadbPath, mariadbInstallPath},
	BasePort: 3390,
	Ports:    1,
	Members: func(dir string, base int) []*cluster.Member {
		mdir := filepath.Join(dir, "db")
		args := []string{"--no-defaults", "--datadir=" + filepath.Join(mdir, "data"),
			"--bind-address=127.0.0.1", "--port=" + strconv.Itoa(base), "--socket=" + filepath.Join(mdir, "sock"),
			"--skip-name-resolve", "--skip-log-bin", "--skip-performance-schema",
			"--innodb-flush-log-at-trx-commit=1", "--innodb-doublewrite=0",
			"--innodb-buffer-pool-size=64M", "--innodb-log-file-size=8M"}
		if os.Geteuid() == 0 {
			args = append(args[:1:1], append([]string{"--user=root"}, args[1:]...)...)
		}
		return []*cluster.Member{{Name: "db", Addr: cluster.Addr(base), Path: mariadbPath, Args: args, Dir: mdir}}
	},
	Prepare: func(ctx context.Context, m *cluster.Member) error {
		args := []string{"--no-defaults", "--datadir=" + filepath.Join(m.Dir, "data"),
			"--auth-root-authentication-method=normal", "--skip-test-db", "--innodb-log-file-size=8M"}
		if os.Geteuid() == 0 {
			args = append(args, "--user=root")
		}
		cmd := osexec.CommandContext(ctx, mariadbInstallPath, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w: %s", mariadbInstallPath, err, lastLines(out.String(), 5))
		}
		return nil
	},
	Ready: func(ctx context.Context, m *cluster.Member) error {
		cfg := mysql.NewConfig()
		cfg.User, cfg.Net, cfg.Addr = "root", "tcp", m.Addr
		cfg.Logger = &mysql.NopLogger{} // a server still starting is no news
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS consist")
		return err
	},
}

// LocalDSN is the data source name of a local MariaDB cluster's
// database.
func LocalDSN(c *cluster.Cluster) string {
	return "root@tcp(" + c.Members[0].Addr + ")/consist"
}

func lastLines(s string, n int) string {
	lines := bytes.Split(bytes.TrimSpace([]byte(s)), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("; ")))
}

func init() { cluster.Register(mariadbKind) }
