package tenantmap_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

var benchMySQLSetup struct {
	sync.Mutex
	url     string
	tenants int
}

// benchMySQL prepares (once, and kept between runs) a MySQL/MariaDB database
// holding n tenants with an item table of benchRows rows each.
func benchMySQL(b *testing.B, n int) string {
	b.Helper()
	benchMySQLSetup.Lock()
	defer benchMySQLSetup.Unlock()
	if benchMySQLSetup.tenants >= n {
		return benchMySQLSetup.url
	}
	base := newMySQLDatabase(b) // checks the server; dropped at the end
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := tenantmap.ParseConfig(base)
	if err != nil {
		b.Fatal(err)
	}
	admin, err := sql.Open("mysql", cfg.DSN)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE IF NOT EXISTS " + benchDatabase); err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + benchDatabase
	ctx := context.Background()
	db, err := openCreating(ctx, u.String())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	seedBenchTenants(b, db, n)
	benchMySQLSetup.url, benchMySQLSetup.tenants = u.String(), n
	return u.String()
}

// rawMySQLOps are tenantmap's statements written by hand and run through
// database/sql and go-sql-driver/mysql directly.
func rawMySQLOps(db *sql.DB) map[string]op {
	sel := func(t int) string {
		return "SELECT `id`,`title`,`status`,`priority`,`updated_at` FROM `" + benchTenantID(t) + "_item` WHERE `id`=?"
	}
	ins := func(t int) string {
		return "INSERT INTO `" + benchTenantID(t) + "_item` (`title`,`status`,`priority`,`updated_at`) VALUES (?,?,?,?) RETURNING `id`"
	}
	upd := func(t int) string {
		return "UPDATE `" + benchTenantID(t) + "_item` SET `title`=?,`status`=?,`priority`=?,`updated_at`=? WHERE `id`=?"
	}
	return map[string]op{
		"get": func(ctx context.Context, t int, row int64) error {
			var it Item
			return db.QueryRowContext(ctx, sel(t), row).Scan(&it.ID, &it.Title, &it.Status, &it.Priority, &it.UpdatedAt)
		},
		"insert": func(ctx context.Context, t int, _ int64) error {
			it := Item{Title: "new", Status: "open", Priority: 1, UpdatedAt: time.Now()}
			return db.QueryRowContext(ctx, ins(t), it.Title, it.Status, it.Priority, it.UpdatedAt).Scan(&it.ID)
		},
		"update": func(ctx context.Context, t int, row int64) error {
			_, err := db.ExecContext(ctx, upd(t), "updated", "open", 2, time.Now(), row)
			return err
		},
	}
}

// BenchmarkMySQL compares tenantmap with database/sql + go-sql-driver/mysql
// on the same tables and statements (TablePerTenant, MariaDB), at 1 tenant
// and 1,000 (TENANTMAP_BENCH_MYSQL_TENANTS overrides).
//
//	go test -run XXX -bench MySQL -cpu 2 -benchtime 5000x .
func BenchmarkMySQL(b *testing.B) {
	n := 1000
	if s := lookupEnvInt("TENANTMAP_BENCH_MYSQL_TENANTS"); s > 0 {
		n = s
	}
	for _, tenants := range []int{1, n} {
		dsn := benchMySQL(b, tenants)
		for _, opName := range []string{"get", "update", "insert"} {
			for _, impl := range []string{"driver", "tenantmap"} {
				b.Run(fmt.Sprintf("tenants=%d/%s/%s", tenants, opName, impl), func(b *testing.B) {
					cfg, err := tenantmap.ParseConfig(dsn)
					if err != nil {
						b.Fatal(err)
					}
					cfg.MaxConns = 4
					var ops map[string]op
					if impl == "driver" {
						raw, err := sql.Open("mysql", cfg.DSN)
						if err != nil {
							b.Fatal(err)
						}
						raw.SetMaxOpenConns(4)
						b.Cleanup(func() { raw.Close() })
						ops = rawMySQLOps(raw)
					} else {
						ops = tenantmapOpenOps(b, cfg)
					}
					runOps(b, tenants, ops[opName], nil)
				})
			}
		}
	}
}

func lookupEnvInt(name string) int {
	v, _ := strconv.Atoi(os.Getenv(name))
	return v
}
