package tenantmap

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// openStmtCacheDB opens a SQLite pool of one connection holding a table of
// three rows.
func openStmtCacheDB(t *testing.T) *sql.DB {
	t.Helper()
	sdb, err := openSQLite(&Config{DSN: filepath.Join(t.TempDir(), "stmts.db"), MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	for _, q := range []string{"CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO t (v) VALUES ('a'), ('b'), ('c')"} {
		if _, err := sdb.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return sdb
}

// A statement evicted while a call holds it stays open until the call gives
// it back, and is closed then; the cache never holds more than its size.
func TestStmtCacheEvictsOnlyWhenReleased(t *testing.T) {
	ctx := context.Background()
	c := newStmtCache(openStmtCacheDB(t), 1)
	defer c.close()
	a := c.acquire(ctx, "SELECT v FROM t WHERE id = ?")
	if a == nil {
		t.Fatal("statement a not prepared")
	}
	b := c.acquire(ctx, "SELECT id FROM t WHERE v = ?") // evicts a, which is in use
	if b == nil {
		t.Fatal("statement b not prepared")
	}
	if n := c.len(); n != 1 {
		t.Fatalf("cache holds %d statements, want 1", n)
	}
	var v string
	if err := a.stmt.QueryRowContext(ctx, 2).Scan(&v); err != nil || v != "b" {
		t.Fatalf("evicted statement in use: %q, %v; want b", v, err)
	}
	c.release(a) // its last user: closed now
	if err := a.stmt.QueryRowContext(ctx, 2).Scan(&v); err == nil {
		t.Fatal("an evicted statement stayed open after its last release")
	}
	c.release(b) // kept: still cached
	var id int64
	if err := b.stmt.QueryRowContext(ctx, "c").Scan(&id); err != nil || id != 3 {
		t.Fatalf("cached statement: %d, %v; want 3", id, err)
	}
	if again := c.acquire(ctx, "SELECT id FROM t WHERE v = ?"); again != b {
		t.Fatal("a cached statement was prepared again")
	} else {
		c.release(again)
	}
}

// Rows read from a statement keep reading after the cache closes it.
func TestStmtCacheRowsOutliveEviction(t *testing.T) {
	ctx := context.Background()
	sdb := openStmtCacheDB(t)
	sdb.SetMaxOpenConns(2)
	be := newSQLBackend(sdb, 1)
	defer be.close()
	r, err := be.query(ctx, "SELECT v FROM t WHERE id >= ? ORDER BY id", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Next() {
		t.Fatal(r.Err())
	}
	var v string
	if err := r.Scan(&v); err != nil || v != "a" {
		t.Fatalf("first row %q, %v", v, err)
	}
	// Another statement evicts the one the rows come from.
	var n int
	if err := be.queryRow(ctx, "SELECT count(*) FROM t WHERE id > ?", 0).Scan(&n); err != nil || n != 3 {
		t.Fatalf("count %d, %v", n, err)
	}
	var got []string
	for r.Next() {
		if err := r.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if err := r.Err(); err != nil || len(got) != 2 || got[0] != "b" || got[1] != "c" {
		t.Fatalf("rows after eviction: %v, %v; want [b c]", got, err)
	}
}

// Calls without arguments (DDL, scripts) and calls in a transaction run
// unprepared; a text that cannot be prepared runs unprepared and fails as
// it would have, and is not kept.
func TestStmtCacheSkips(t *testing.T) {
	ctx := context.Background()
	be := newSQLBackend(openStmtCacheDB(t), 8)
	defer be.close()
	if _, err := be.exec(ctx, "CREATE TABLE u (id INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := be.exec(ctx, "INSERT INTO nosuch (id) VALUES (?)", 1); err == nil || !isUndefinedObject(err) {
		t.Fatalf("insert into a missing table: %v, want an unknown-table error", err)
	}
	if n := be.stmts.len(); n != 0 {
		t.Fatalf("cache holds %d statements, want 0", n)
	}
	tx, err := be.begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.exec(ctx, "INSERT INTO u (id) VALUES (?)", 7); err != nil {
		t.Fatal(err)
	}
	if err := tx.commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := be.stmts.len(); n != 0 {
		t.Fatalf("a transaction's statement was cached: %d", n)
	}
	if _, err := be.exec(ctx, "DELETE FROM u WHERE id = ?", 7); err != nil {
		t.Fatal(err)
	}
	if n := be.stmts.len(); n != 1 {
		t.Fatalf("cache holds %d statements, want 1", n)
	}
}
