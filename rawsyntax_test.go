package tenantmap_test

import (
	"errors"
	"testing"

	"github.com/tenantmap/tenantmap"
)

// malformedRaw are raw statements every database refuses for their text:
// each must come back as ErrInvalidQuery, not as the bare driver error
// (issue 12, item 4).
var malformedRaw = []struct {
	sql  string
	args []any
}{
	{"SELEC 1", nil},
	{"SELECT body FROM {note} WHERE {tenant} AND", nil},
	{"SELECT body FROM {note} WHERE {tenant} AND body = = ?", []any{"x"}},
	{"SELECT nosuchcolumn FROM {note} WHERE {tenant}", nil},
	{"SELECT nosuchfunction(body) FROM {note} WHERE {tenant}", nil},
	{"SELECT body FROM {note} WHERE {tenant} ORDER", nil},
	{"UPDATE {note} SET WHERE {tenant}", nil},
	{"DELETE {note} WHERE {tenant} AND body = ?", []any{"x"}},
}

// malformedFragments are Where fragments the lexer lets through (they
// balance) but no database can run.
var malformedFragments = []string{
	"body = = 'x'",
	"nosuchcolumn = 1",
	"body LIKE",
	"nosuchfunction(body) = 1",
}

func TestMalformedStatementIsInvalidQuery(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db, notes := isoRegister(t, b)
		mustCreate(t, db, "sa")
		ctx := tctx("sa")
		if err := notes.Insert(ctx, &isoNote{Owner: "sa", Body: "one"}); err != nil {
			t.Fatal(err)
		}
		for _, s := range malformedRaw {
			_, err := db.Exec(ctx, s.sql, s.args...)
			checkInvalid(t, "Exec", s.sql, err)

			rows, err := db.Query(ctx, s.sql, s.args...)
			if err == nil {
				for rows.Next() {
				}
				err = rows.Err()
				rows.Close()
			}
			checkInvalid(t, "Query", s.sql, err)

			var body string
			err = db.QueryRow(ctx, s.sql, s.args...).Scan(&body)
			checkInvalid(t, "QueryRow", s.sql, err)
		}
		for _, frag := range malformedFragments {
			got, err := notes.Find(ctx, tenantmap.Where(frag))
			checkInvalid(t, "Find", frag, err)
			if len(got) != 0 {
				t.Errorf("Find(Where(%q)) returned %d rows", frag, len(got))
			}
			_, err = notes.Count(ctx, tenantmap.Where(frag))
			checkInvalid(t, "Count", frag, err)
		}
		// A statement that is well formed is not ErrInvalidQuery when its
		// data makes it fail, and one that runs still runs.
		var n int64
		if err := db.QueryRow(ctx, "SELECT count(*) FROM {note} WHERE {tenant}").Scan(&n); err != nil || n != 1 {
			t.Errorf("count = %d, %v; want 1", n, err)
		}
		if err := db.QueryRow(ctx, "SELECT body FROM {note} WHERE {tenant} AND body = ?", "none").Scan(new(string)); !errors.Is(err, tenantmap.ErrNotFound) || errors.Is(err, tenantmap.ErrInvalidQuery) {
			t.Errorf("no row: %v; want ErrNotFound only", err)
		}
		if db.Dialect().Name() == "postgres" {
			_, err := db.Exec(ctx, "SELECT 1/0")
			if err == nil || errors.Is(err, tenantmap.ErrInvalidQuery) {
				t.Errorf("SELECT 1/0: %v; want a division error that is not ErrInvalidQuery", err)
			}
		}
	})
}

// checkInvalid asserts that err is ErrInvalidQuery inside a *tenantmap.Error
// and that the driver's own error is still there to read.
func checkInvalid(t *testing.T, call, sql string, err error) {
	t.Helper()
	if !errors.Is(err, tenantmap.ErrInvalidQuery) {
		t.Errorf("%s(%q): %v; want ErrInvalidQuery", call, sql, err)
		return
	}
	var te *tenantmap.Error
	if !errors.As(err, &te) || te.Tenant != "sa" {
		t.Errorf("%s(%q): %v (%T) is not a *tenantmap.Error naming the tenant", call, sql, err, err)
	}
}
