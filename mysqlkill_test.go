package tenantmap_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

// On MySQL/MariaDB a statement whose context ends is stopped on the server
// (KILL QUERY), as PostgreSQL's cancel request stops it there: before, the
// driver closed its connection but the server ran SELECT SLEEP(5) to its end,
// 4.7 s after a 300 ms deadline.
func TestMySQLDeadlineStopsStatementOnServer(t *testing.T) {
	db := mysqlOpen(t)
	mustCreate(t, db, "a")
	cfg, err := tenantmap.ParseConfig(serverURL(t, envMySQL, defaultMySQL))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("mysql", cfg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	marker := "tmkill_" + randomSuffix()
	ctx, cancel := context.WithTimeout(tenantmap.WithTenant(context.Background(), "a"), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = db.Exec(ctx, "SELECT SLEEP(5) AS "+marker)
	if err == nil {
		t.Fatal("SELECT SLEEP(5) under a 300 ms deadline succeeded")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the call returned after %v, want about 300 ms", took)
	}
	running := func() int {
		var n int
		if err := admin.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()", "%"+marker+"%").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(time.Second)
	for running() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("SELECT SLEEP(5) still runs on the server %v after its context ended", time.Since(start)-300*time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The handle still works.
	var one int
	if err := db.QueryRow(tenantmap.WithTenant(context.Background(), "a"), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 after the kill: %v, %d", err, one)
	}
}
