package tenantmap_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

// A statement that finds the SQLite database locked by another process for
// longer than busy_timeout waits for it within its context, and succeeds
// once the lock is given up, instead of failing with SQLITE_BUSY.
func TestSQLiteBusyWaitsWithinContext(t *testing.T) {
	file := t.TempDir() + "/main.db"
	cfg, err := tenantmap.ParseConfig("sqlite:" + file + "?_pragma=busy_timeout(50)")
	if err != nil {
		t.Fatal(err)
	}
	db := openCfg(t, cfg)
	cases, err := tenantmap.Register[mgCaseV0](db, tenantmap.TablePerTenant("{tenant}_case"), tenantmap.ModelName("case"))
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, "a")
	other, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(50)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil { // the write lock
		t.Fatal(err)
	}
	go func() {
		time.Sleep(500 * time.Millisecond)
		_, _ = conn.ExecContext(ctx, "ROLLBACK")
	}()
	cctx, cancel := context.WithTimeout(tenantmap.WithTenant(ctx, "a"), 10*time.Second)
	defer cancel()
	if err := cases.Insert(cctx, &mgCaseV0{Title: "after the lock"}); err != nil {
		t.Fatalf("Insert while another process holds the lock for 500 ms (busy_timeout 50 ms): %v", err)
	}
	if _, err := db.Exec(cctx, "UPDATE {case} SET title = ? WHERE {tenant}", "x"); err != nil {
		t.Fatal(err)
	}
}
