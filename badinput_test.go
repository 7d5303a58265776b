package tenantmap_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

// badNote is the record the bad-input tests write.
type badNote struct {
	ID    int64
	Owner string
	Body  string
}

// badState is everything a refused call must leave as it was: the
// physical tables, the catalog, and every tenant's rows.
type badState struct {
	tables  []string
	tenants []string // catalog records, formatted
	rows    []string // every tenant's rows, formatted
}

func badListAll(t *testing.T, db *tenantmap.DB) []tenantmap.Tenant {
	t.Helper()
	var out []tenantmap.Tenant
	after := ""
	for {
		page, next, err := db.Tenants().List(context.Background(), tenantmap.ListOptions{After: after, Limit: 1000})
		if err != nil {
			t.Fatalf("list tenants: %v", err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		after = next
	}
}

func badFormatTenant(ten tenantmap.Tenant) string {
	return fmt.Sprintf("%s key=%s status=%s v%d %s", ten.ID, ten.Key, ten.Status, ten.Version, ten.CreatedAt.Format(time.RFC3339Nano))
}

func badSnapshot(t *testing.T, db *tenantmap.DB, notes *tenantmap.Table[badNote]) badState {
	t.Helper()
	s := badState{tables: physicalTables(t, db)}
	for _, ten := range badListAll(t, db) {
		s.tenants = append(s.tenants, badFormatTenant(ten))
		rows, err := notes.For(ten.ID).Find(context.Background(), tenantmap.OrderBy("id"))
		if err != nil {
			t.Fatalf("rows of %s: %v", ten.ID, err)
		}
		for _, r := range rows {
			s.rows = append(s.rows, fmt.Sprintf("%s: %+v", ten.ID, r))
		}
	}
	return s
}

// badSame fails the test if the database differs from before.
func badSame(t *testing.T, db *tenantmap.DB, notes *tenantmap.Table[badNote], before badState, after string) {
	t.Helper()
	now := badSnapshot(t, db, notes)
	for _, c := range []struct {
		what    string
		was, is []string
	}{
		{"tables", before.tables, now.tables},
		{"catalog", before.tenants, now.tenants},
		{"rows", before.rows, now.rows},
	} {
		if !slices.Equal(c.was, c.is) {
			t.Errorf("after %s, the %s changed:\nbefore:\n%s\nafter:\n%s", after, c.what, joinLines(c.was), joinLines(c.is))
		}
	}
}

func badInsert(t *testing.T, notes *tenantmap.Table[badNote], tenant string, bodies ...string) []int64 {
	t.Helper()
	var keys []int64
	for _, body := range bodies {
		n := &badNote{Owner: tenant, Body: body}
		if err := notes.For(tenant).Insert(context.Background(), n); err != nil {
			t.Fatalf("insert into %s: %v", tenant, err)
		}
		keys = append(keys, n.ID)
	}
	return keys
}

// badPhysical returns the quoted physical name of the tenant's note table,
// as it must be, for statements that name it without {note}.
func badPhysical(t *testing.T, db *tenantmap.DB, b backend, tenant string) string {
	t.Helper()
	ten, err := db.Tenants().Get(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	switch b.name {
	case "postgres/schema", "pgbouncer/schema":
		return `"` + ten.Key + `"."note"`
	case "mysql/database":
		return "`" + mysqlDBPrefix + ten.Key + "`.`note`"
	}
	return `"` + ten.Key + `_note"`
}

// TestBadInput feeds every entry point hostile or mistaken input and checks
// that each is refused with the documented error and changes nothing.
func TestBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db := b.open(t)
		notes, err := tenantmap.Register[badNote](db, b.strategy("{tenant}_note"), tenantmap.ModelName("note"))
		if err != nil {
			t.Fatal(err)
		}
		// A refused call that leaked a connection must fail the test, not hang it.
		bg, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		mustCreate(t, db, "keep", "bystander")
		keepKeys := badInsert(t, notes, "keep", "keep-1", "keep-2", "x")
		badInsert(t, notes, "bystander", "bystander-1")
		ctxKeep := tenantmap.WithTenant(bg, "keep")

		t.Run("invalid tenant ids", func(t *testing.T) {
			ids := []string{
				`a"b`, `a'b`, `a;drop table x`, `a; DROP TABLE keep_note; --`,
				"a b", " a", "a ", "a\tb", "a\nb", "a\x00b",
				"café", "テナント", "",
				strings.Repeat("a", 10*1024), strings.Repeat("a", tenantmap.MaxTenantIDLength+1),
				"pg_x", "sqlite_x", "Acme", "ACME", "aB",
				"-a", "a-", "_a", "a_",
				"public", "information_schema",
				"a.b", "a/b", "../a", `a\b`, "a%", "a*", "a$b", "{a}", "a`b", "a[b]",
			}
			for _, id := range ids {
				name := id
				if len(name) > 40 {
					name = fmt.Sprintf("%.20s…(%d bytes)", name, len(name))
				}
				before := badSnapshot(t, db, notes)
				invalid := func(what string, err error) {
					t.Helper()
					if !errors.Is(err, tenantmap.ErrInvalidTenantID) {
						t.Errorf("%s(%q) = %v, want ErrInvalidTenantID", what, name, err)
					}
				}
				ten, err := db.Tenants().Create(bg, id)
				invalid("Create", err)
				if ten != (tenantmap.Tenant{}) {
					t.Errorf("a refused Create(%q) returned %+v", name, ten)
				}
				_, err = db.Tenants().Get(bg, id)
				invalid("Tenants().Get", err)
				invalid("Drop", db.Tenants().Drop(bg, id, tenantmap.ConfirmDrop(id)))
				ctx := tenantmap.WithTenant(bg, id)
				invalid("Insert", notes.Insert(ctx, &badNote{Owner: id, Body: "x"}))
				_, err = notes.For(id).Count(bg, tenantmap.Query{})
				if id == "" {
					// For("") names no tenant: the call has none.
					if !errors.Is(err, tenantmap.ErrNoTenant) {
						t.Errorf(`For("").Count = %v, want ErrNoTenant`, err)
					}
				} else {
					invalid("For().Count", err)
				}
				_, err = db.Exec(ctx, "DELETE FROM {note}")
				invalid("Exec", err)
				called := false
				invalid("InTx", db.InTx(ctx, func(context.Context) error { called = true; return nil }))
				if called {
					t.Errorf("InTx(%q) ran its function", name)
				}
				badSame(t, db, notes, before, fmt.Sprintf("Create(%q)", name))
			}
		})

		t.Run("unknown tenant", func(t *testing.T) {
			before := badSnapshot(t, db, notes)
			ctx := tenantmap.WithTenant(bg, "ghost")
			notFound := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, tenantmap.ErrTenantNotFound) {
					t.Errorf("%s for an unknown tenant = %v, want ErrTenantNotFound", what, err)
				}
			}
			_, err := notes.Get(ctx, keepKeys[0])
			notFound("Get", err)
			n := &badNote{Owner: "ghost", Body: "boo"}
			notFound("Insert", notes.Insert(ctx, n))
			if n.ID != 0 {
				t.Errorf("a refused Insert wrote back key %d", n.ID)
			}
			notFound("InsertMany", notes.InsertMany(ctx, []*badNote{{Owner: "ghost"}}))
			notFound("Update", notes.Update(ctx, &badNote{ID: keepKeys[0], Owner: "ghost"}))
			notFound("Delete", notes.Delete(ctx, keepKeys[0]))
			_, err = notes.Find(ctx, tenantmap.Query{})
			notFound("Find", err)
			_, err = notes.Count(ctx, tenantmap.Query{})
			notFound("Count", err)
			_, err = notes.For("ghost").Count(bg, tenantmap.Query{})
			notFound("For().Count", err)
			_, err = db.Tenants().Get(bg, "ghost")
			notFound("Tenants().Get", err)
			notFound("Drop", db.Tenants().Drop(bg, "ghost", tenantmap.ConfirmDrop("ghost")))
			_, err = db.Exec(ctx, "DELETE FROM {note}")
			notFound("Exec", err)
			// A raw statement that names no model checks the tenant too.
			_, err = db.Exec(ctx, "SELECT 1")
			notFound("Exec naming no model", err)
			var one int64
			notFound("QueryRow naming no model", db.QueryRow(ctx, "SELECT 1").Scan(&one))
			notFound("InTx+Insert", db.InTx(ctx, func(ctx context.Context) error {
				return notes.Insert(ctx, &badNote{Owner: "ghost"})
			}))
			badSame(t, db, notes, before, "calls for an unknown tenant")

			// The failures cached nothing: once created, the tenant works.
			mustCreate(t, db, "ghost")
			if err := notes.Insert(ctx, &badNote{Owner: "ghost", Body: "boo"}); err != nil {
				t.Fatalf("Insert after Create: %v", err)
			}
			if c, err := notes.Count(ctx, tenantmap.Query{}); err != nil || c != 1 {
				t.Errorf("Count after Create = %d, %v; want 1", c, err)
			}
		})

		t.Run("create twice", func(t *testing.T) {
			first, err := db.Tenants().Create(bg, "twin")
			if err != nil {
				t.Fatal(err)
			}
			badInsert(t, notes, "twin", "twin-1", "twin-2")
			before := badSnapshot(t, db, notes)
			if _, err := db.Tenants().Create(bg, "twin"); !errors.Is(err, tenantmap.ErrTenantExists) {
				t.Errorf("second Create(twin) = %v, want ErrTenantExists", err)
			}
			badSame(t, db, notes, before, "a second Create(twin)")
			got, err := db.Tenants().Get(bg, "twin")
			if err != nil || badFormatTenant(got) != badFormatTenant(first) {
				t.Errorf("Tenants().Get(twin) = %+v, %v; want the first record %+v", got, err, first)
			}
			if c, err := notes.For("twin").Count(bg, tenantmap.Query{}); err != nil || c != 2 {
				t.Errorf("twin's rows after the second Create: %d, %v; want 2", c, err)
			}

			// Racing creates: exactly one wins.
			before = badSnapshot(t, db, notes)
			const racers = 4
			errs := make([]error, racers)
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() { _, errs[i] = db.Tenants().Create(bg, "racer") })
			}
			wg.Wait()
			wins := 0
			for i, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, tenantmap.ErrTenantExists):
					t.Errorf("racing Create %d = %v, want nil or ErrTenantExists", i, err)
				}
			}
			if wins != 1 {
				t.Errorf("%d of %d racing Creates succeeded, want 1", wins, racers)
			}
			after := badSnapshot(t, db, notes)
			if len(after.tenants) != len(before.tenants)+1 {
				t.Errorf("racing Creates added %d catalog records, want 1", len(after.tenants)-len(before.tenants))
			}
			if c, err := notes.For("racer").Count(bg, tenantmap.Query{}); err != nil || c != 0 {
				t.Errorf("racer's table: %d rows, %v; want an empty table", c, err)
			}
		})

		t.Run("drop", func(t *testing.T) {
			mustCreate(t, db, "victim")
			badInsert(t, notes, "victim", "victim-1", "victim-2")
			ctx := tenantmap.WithTenant(bg, "victim")
			if c, err := notes.Count(ctx, tenantmap.Query{}); err != nil || c != 2 { // and caches the mapping
				t.Fatalf("victim's rows: %d, %v", c, err)
			}
			before := badSnapshot(t, db, notes)
			for _, c := range []struct {
				id      string
				confirm tenantmap.DropConfirmation
				what    string
			}{
				{"victim", tenantmap.DropConfirmation{}, "Drop(victim, zero confirmation)"},
				{"victim", tenantmap.ConfirmDrop(""), `Drop(victim, ConfirmDrop(""))`},
				{"victim", tenantmap.ConfirmDrop("keep"), "Drop(victim, ConfirmDrop(keep))"},
				{"victim", tenantmap.ConfirmDrop("Victim"), "Drop(victim, ConfirmDrop(Victim))"},
				{"keep", tenantmap.ConfirmDrop("victim"), "Drop(keep, ConfirmDrop(victim))"},
				{"keep", tenantmap.DropConfirmation{}, "Drop(keep, zero confirmation)"},
			} {
				if err := db.Tenants().Drop(bg, c.id, c.confirm); !errors.Is(err, tenantmap.ErrDropNotConfirmed) {
					t.Errorf("%s = %v, want ErrDropNotConfirmed", c.what, err)
				}
				badSame(t, db, notes, before, c.what)
			}

			if err := db.Tenants().Drop(bg, "victim", tenantmap.ConfirmDrop("victim")); err != nil {
				t.Fatalf("confirmed Drop: %v", err)
			}
			after := badSnapshot(t, db, notes)
			var removed []string
			for _, tbl := range before.tables {
				if !slices.Contains(after.tables, tbl) {
					removed = append(removed, tbl)
				}
			}
			for _, tbl := range after.tables {
				if !slices.Contains(before.tables, tbl) {
					t.Errorf("Drop created table %s", tbl)
				}
			}
			switch {
			case isOwnDB(b):
				if ownDatabaseExists(t, db, "victim") {
					t.Errorf("Drop(victim) left its database")
				}
				if !ownDatabaseExists(t, db, "keep") {
					t.Errorf("Drop(victim) removed keep's database")
				}
			case isShared(b) && len(removed) != 0:
				t.Errorf("Drop of a tenant in a shared table removed tables %v", removed)
			case !isShared(b) && len(removed) == 0:
				t.Errorf("Drop removed no table; tables:\n%s", joinLines(after.tables))
			}
			for _, tbl := range removed {
				if !strings.Contains(tbl, "victim") {
					t.Errorf("Drop(victim) removed %s", tbl)
				}
			}
			for _, tbl := range after.tables {
				if strings.Contains(tbl, "victim") {
					t.Errorf("Drop(victim) left %s", tbl)
				}
			}
			var wantTenants, wantRows []string
			for _, s := range before.tenants {
				if !strings.HasPrefix(s, "victim ") {
					wantTenants = append(wantTenants, s)
				}
			}
			for _, s := range before.rows {
				if !strings.HasPrefix(s, "victim: ") {
					wantRows = append(wantRows, s)
				}
			}
			if !slices.Equal(after.tenants, wantTenants) {
				t.Errorf("catalog after Drop:\n%s\nwant:\n%s", joinLines(after.tenants), joinLines(wantTenants))
			}
			if !slices.Equal(after.rows, wantRows) {
				t.Errorf("rows after Drop:\n%s\nwant:\n%s", joinLines(after.rows), joinLines(wantRows))
			}

			notFound := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, tenantmap.ErrTenantNotFound) {
					t.Errorf("%s after Drop = %v, want ErrTenantNotFound", what, err)
				}
			}
			_, err := notes.Get(ctx, 1)
			notFound("Get", err)
			notFound("Insert", notes.Insert(ctx, &badNote{Owner: "victim"}))
			_, err = notes.Count(ctx, tenantmap.Query{})
			notFound("Count", err)
			_, err = notes.Find(ctx, tenantmap.Query{})
			notFound("Find", err)
			_, err = db.Exec(ctx, "DELETE FROM {note}")
			notFound("Exec", err)
			_, err = db.Exec(ctx, "SELECT 1")
			notFound("Exec naming no model", err)
			_, err = db.Tenants().Get(bg, "victim")
			notFound("Tenants().Get", err)
			notFound("second Drop", db.Tenants().Drop(bg, "victim", tenantmap.ConfirmDrop("victim")))
			badSame(t, db, notes, after, "calls on a dropped tenant")

			// Created again, the tenant starts empty.
			mustCreate(t, db, "victim")
			if c, err := notes.Count(ctx, tenantmap.Query{}); err != nil || c != 0 {
				t.Errorf("re-created victim: %d rows, %v; want 0", c, err)
			}
		})

		t.Run("long ids", func(t *testing.T) {
			prefix := "long-" + strings.Repeat("x", 55) // 60 bytes
			ids := []string{prefix + "one", prefix + "two"}
			for _, id := range ids {
				if len(id) != tenantmap.MaxTenantIDLength {
					t.Fatalf("test bug: %q is %d bytes", id, len(id))
				}
			}
			mustCreate(t, db, ids...)
			if isShared(b) {
				// The table's name holds no id; the tenant column holds the
				// whole of the longest one.
				for _, id := range ids {
					badInsert(t, notes, id, id+"-1")
					if got, err := notes.Find(tenantmap.WithTenant(bg, id), tenantmap.Query{}); err != nil || len(got) != 1 || got[0].Body != id+"-1" {
						t.Errorf("%s: rows %+v, %v; want its one row", id, got, err)
					}
				}
				return
			}
			limit := db.Dialect().MaxIdentifierLength()
			static := len("_note") // what the template adds to the key
			switch b.name {
			case "postgres/schema", "pgbouncer/schema":
				static = 0 // the schema is the key; the table is "note"
			case "mysql/database":
				static = len(mysqlDBPrefix) // the database is prefix+key; the table is "note"
			case "postgres/database", "pgbouncer/database":
				static = len(ownDBName(db, ""))
			case "sqlite/database":
				static = 0 // the file is key.db
			}
			tables := physicalTables(t, db)
			var keys []string
			for _, id := range ids {
				ten, err := db.Tenants().Get(bg, id)
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, ten.Key)
				if len(ten.Key)+static > limit {
					t.Errorf("%s: key %q gives a %d-byte name, the server allows %d", id, ten.Key, len(ten.Key)+static, limit)
				}
				shortened := len(id)+static > limit
				if shortened && ten.Key == id {
					t.Errorf("%s: key is the id, but the id does not fit", id)
				}
				if !shortened && ten.Key != id {
					t.Errorf("%s: key %q, want the id itself (it fits)", id, ten.Key)
				}
				if (b.name == "postgres/table" || b.name == "pgbouncer/table") && !shortened {
					t.Errorf("test bug: %s should not fit {tenant}_note on PostgreSQL", id)
				}
				want := "main." + ten.Key + "_note"
				switch b.name {
				case "postgres/table", "pgbouncer/table":
					want = "public." + ten.Key + "_note"
				case "postgres/schema", "pgbouncer/schema":
					want = ten.Key + ".note"
				case "mysql/database":
					want = mysqlDBPrefix + ten.Key + ".note"
				}
				found := slices.Contains(tables, want)
				if isOwnDB(b) {
					found = ownDatabaseExists(t, db, ten.Key)
				}
				if b.name == "mysql/table" { // qualified by the test's own database
					found = slices.ContainsFunc(tables, func(s string) bool { return strings.HasSuffix(s, "."+ten.Key+"_note") })
				}
				if !found {
					t.Errorf("%s: no table %s; tables:\n%s", id, want, joinLines(tables))
				}
				listed := false
				for _, l := range badListAll(t, db) {
					listed = listed || (l.ID == id && l.Key == ten.Key)
				}
				if !listed {
					t.Errorf("%s: List does not show it with key %q", id, ten.Key)
				}
			}
			if keys[0] == keys[1] {
				t.Fatalf("two ids sharing a 60-byte prefix got the same key %q", keys[0])
			}

			// CRUD on each, and each sees only its own rows.
			for i, id := range ids {
				ctx := tenantmap.WithTenant(bg, id)
				n := &badNote{Owner: id, Body: fmt.Sprintf("body-%d", i)}
				if err := notes.Insert(ctx, n); err != nil {
					t.Fatalf("insert into %s: %v", id, err)
				}
				got, err := notes.Get(ctx, n.ID)
				if err != nil || *got != *n {
					t.Errorf("%s: Get = %+v, %v; want %+v", id, got, err, *n)
				}
				n.Body += "-updated"
				if err := notes.Update(ctx, n); err != nil {
					t.Errorf("%s: Update: %v", id, err)
				}
				badInsert(t, notes, id, "extra")
			}
			for _, id := range ids {
				ctx := tenantmap.WithTenant(bg, id)
				rows, err := notes.Find(ctx, tenantmap.OrderBy("id"))
				if err != nil {
					t.Fatal(err)
				}
				if len(rows) != 2 {
					t.Errorf("%s: %d rows, want 2: %+v", id, len(rows), rows)
				}
				for _, r := range rows {
					if r.Owner != id {
						t.Errorf("%s sees a row of %s: %+v", id, r.Owner, r)
					}
				}
				if len(rows) > 0 && !strings.HasSuffix(rows[0].Body, "-updated") {
					t.Errorf("%s: first row %+v, want its update", id, rows[0])
				}
				if err := notes.Delete(ctx, rows[len(rows)-1].ID); err != nil {
					t.Errorf("%s: Delete: %v", id, err)
				}
				if c, err := notes.Count(ctx, tenantmap.Query{}); err != nil || c != 1 {
					t.Errorf("%s: Count after Delete = %d, %v; want 1", id, c, err)
				}
			}

			// A tenant whose id is another's shortened key would share its
			// tables; it is refused.
			if keys[0] != ids[0] {
				before := badSnapshot(t, db, notes)
				if _, err := db.Tenants().Create(bg, keys[0]); !errors.Is(err, tenantmap.ErrTenantExists) {
					t.Errorf("Create(%q), the key of %q = %v, want ErrTenantExists", keys[0], ids[0], err)
				}
				badSame(t, db, notes, before, "Create of another tenant's key")
			}
		})

		t.Run("raw misuse", func(t *testing.T) {
			victim := badPhysical(t, db, b, "bystander")
			before := badSnapshot(t, db, notes)
			for _, c := range []struct {
				sql  string
				args []any
			}{
				{"SELECT id FROM {nosuchmodel}", nil},
				{"DELETE FROM {nosuchmodel}", nil},
				{"SELECT 1; DROP TABLE x", nil},
				{"SELECT 1 FROM {note}; DROP TABLE {note}", nil},
				{"SELECT 1; DROP TABLE " + victim, nil},
				{"DELETE FROM {note}; DELETE FROM {note}", nil},
				{"UPDATE {note} SET body = 'x';SELECT 1", nil},
				{"SELECT 1;;", nil},
				{"DELETE FROM {note} WHERE id = ?; DELETE FROM {note}", []any{keepKeys[0]}},
				{"SELECT id FROM {note} WHERE id = ?", nil},
				{"DELETE FROM {note} WHERE id = ?", nil},
				{"DELETE FROM {note} WHERE id = ?", []any{keepKeys[0], keepKeys[1]}},
				{"DELETE FROM {note} WHERE id = ? AND body = ?", []any{keepKeys[0]}},
				{"DELETE FROM {note}", []any{keepKeys[0]}},
				{"DELETE FROM {note} WHERE body = '?'", []any{"x"}},
				{"SELECT 1 FROM {note} WHERE body = ??", []any{"x"}},
				{"DELETE FROM {note} WHERE body = 'x", nil},
				{"DELETE FROM {note} /* unterminated", nil},
			} {
				what := fmt.Sprintf("%q with %d values", c.sql, len(c.args))
				if n, err := db.Exec(ctxKeep, c.sql, c.args...); !errors.Is(err, tenantmap.ErrInvalidQuery) {
					t.Errorf("Exec %s = %d, %v; want ErrInvalidQuery", what, n, err)
				}
				if rows, err := db.Query(ctxKeep, c.sql, c.args...); !errors.Is(err, tenantmap.ErrInvalidQuery) {
					if rows != nil {
						rows.Close()
					}
					t.Errorf("Query %s = %v; want ErrInvalidQuery", what, err)
				}
				var one any
				if err := db.QueryRow(ctxKeep, c.sql, c.args...).Scan(&one); !errors.Is(err, tenantmap.ErrInvalidQuery) {
					t.Errorf("QueryRow %s = %v; want ErrInvalidQuery", what, err)
				}
				badSame(t, db, notes, before, what)
			}

			// Controls: a ; or a ? inside a literal is text, and a correct
			// statement runs.
			var c int64
			if err := db.QueryRow(ctxKeep, "SELECT count(*) FROM {note} WHERE body <> ';' AND body <> '?' AND id > ? AND {tenant}", 0).Scan(&c); err != nil || c != 3 {
				t.Errorf("count with ; and ? in literals = %d, %v; want 3", c, err)
			}
			if n, err := db.Exec(ctxKeep, "UPDATE {note} SET body = body WHERE id = ? AND {tenant};", keepKeys[0]); err != nil || n != 1 {
				t.Errorf("one statement with a trailing ; = %d, %v; want 1 row", n, err)
			}
			badSame(t, db, notes, before, "the control statements")
		})

		t.Run("injection values", func(t *testing.T) {
			victim := badPhysical(t, db, b, "bystander")
			values := []string{
				"x' OR '1'='1", "' OR 1=1 --", "x' OR 'a'='a' --", "'; DROP TABLE " + victim + "; --",
				`x" OR "1"="1`, `\'; DELETE FROM {note}; --`, "{note}", "?", "??", "$1", "%", "_",
				"'); DELETE FROM keep_note; --", "x'/*", "*/ OR 1=1 --", "\x00",
			}
			before := badSnapshot(t, db, notes)
			for _, v := range values {
				if v == "\x00" && db.Dialect().Name() == "postgres" {
					continue // PostgreSQL text cannot hold NUL; the server refuses it
				}
				for _, col := range []string{"body", "owner"} {
					if rows, err := notes.Find(ctxKeep, tenantmap.Where(col+" = ?", v)); err != nil || len(rows) != 0 {
						t.Errorf("Find(%s = %q) = %+v, %v; want no rows", col, v, rows, err)
					}
					if c, err := notes.Count(ctxKeep, tenantmap.Where(col+" <> ?", v)); err != nil || c != 3 {
						t.Errorf("Count(%s <> %q) = %d, %v; want 3", col, v, c, err)
					}
				}
				if n, err := db.Exec(ctxKeep, "DELETE FROM {note} WHERE body = ? AND {tenant}", v); err != nil || n != 0 {
					t.Errorf("Exec DELETE WHERE body = %q = %d, %v; want 0 rows", v, n, err)
				}
				if n, err := db.Exec(ctxKeep, "UPDATE {note} SET owner = 'pwned' WHERE (body = ? OR owner = ?) AND {tenant}", v, v); err != nil || n != 0 {
					t.Errorf("Exec UPDATE WHERE body or owner = %q = %d, %v; want 0 rows", v, n, err)
				}
				if err := notes.Delete(ctxKeep, v); err == nil {
					t.Errorf("Delete(key %q) succeeded", v)
				}
			}
			badSame(t, db, notes, before, "queries with injection text as values")

			// The same text stored as a value comes back verbatim and is
			// found by equality, alone.
			mustCreate(t, db, "inj")
			ctx := tenantmap.WithTenant(bg, "inj")
			tablesBefore := physicalTables(t, db)
			for _, v := range values {
				if v == "\x00" && db.Dialect().Name() == "postgres" {
					continue // PostgreSQL text cannot hold NUL
				}
				n := &badNote{Owner: "inj", Body: v}
				if err := notes.Insert(ctx, n); err != nil {
					t.Errorf("Insert body %q: %v", v, err)
					continue
				}
				got, err := notes.Get(ctx, n.ID)
				if err != nil || got.Body != v {
					t.Errorf("Get of body %q = %+v, %v", v, got, err)
				}
				rows, err := notes.Find(ctx, tenantmap.Where("body = ?", v))
				if err != nil || len(rows) != 1 || rows[0].ID != n.ID {
					t.Errorf("Find(body = %q) = %+v, %v; want only row %d", v, rows, err, n.ID)
				}
				if c, err := db.Exec(ctx, "UPDATE {note} SET body = ? WHERE id = ? AND {tenant}", v+"!", n.ID); err != nil || c != 1 {
					t.Errorf("raw UPDATE to %q = %d, %v; want 1 row", v+"!", c, err)
				}
				if got, err := notes.Get(ctx, n.ID); err != nil || got.Body != v+"!" {
					t.Errorf("after the raw UPDATE to %q: %+v, %v", v+"!", got, err)
				}
			}
			if after := physicalTables(t, db); !slices.Equal(after, tablesBefore) {
				t.Errorf("storing injection text changed the tables:\nbefore:\n%s\nafter:\n%s", joinLines(tablesBefore), joinLines(after))
			}
			if c, err := notes.For("keep").Count(bg, tenantmap.Query{}); err != nil || c != 3 {
				t.Errorf("keep's rows: %d, %v; want 3", c, err)
			}
		})

		t.Run("fragments", func(t *testing.T) {
			victim := badPhysical(t, db, b, "bystander")
			before := badSnapshot(t, db, notes)
			for _, w := range []string{
				"body = ?; DROP TABLE " + victim,
				"body = ? OR {note}.id > 0",
				"body = '?",
				"body = ? /*",
			} {
				if _, err := notes.Find(ctxKeep, tenantmap.Where(w, "x")); !errors.Is(err, tenantmap.ErrInvalidQuery) {
					t.Errorf("Find(Where(%q)) = %v; want ErrInvalidQuery", w, err)
				}
				if _, err := notes.Count(ctxKeep, tenantmap.Where(w, "x")); !errors.Is(err, tenantmap.ErrInvalidQuery) {
					t.Errorf("Count(Where(%q)) = %v; want ErrInvalidQuery", w, err)
				}
				badSame(t, db, notes, before, fmt.Sprintf("Where(%q)", w))
			}
		})

		t.Run("order by injection", func(t *testing.T) {
			before := badSnapshot(t, db, notes)
			for _, o := range []string{
				"body; DROP TABLE x", "body DESC; DROP TABLE x", "id DESC, (SELECT 1)", "id DESC --",
				"id); DROP TABLE x; --", "(CASE WHEN 1=1 THEN id END)", "id/**/DESC", "nosuch", "1",
				"id ASC DESC", "id DESCENDING", "", "  ", `"body"`, "body COLLATE \"C\"", "id NULLS FIRST",
				"Body", "body'", "?",
			} {
				invalid := func(what string, err error) {
					t.Helper()
					if !errors.Is(err, tenantmap.ErrInvalidQuery) {
						t.Errorf("%s(OrderBy(%q)) = %v, want ErrInvalidQuery", what, o, err)
					}
				}
				q := tenantmap.OrderBy(o)
				_, err := notes.Find(ctxKeep, q)
				invalid("Find", err)
				_, err = notes.First(ctxKeep, q)
				invalid("First", err)
				_, err = notes.Find(ctxKeep, tenantmap.OrderBy("id", o))
				invalid("Find, second key", err)
				for _, err := range notes.All(ctxKeep, q) {
					invalid("All", err)
				}
			}
			badSame(t, db, notes, before, "OrderBy injection")

			if _, err := notes.Find(ctxKeep, tenantmap.OrderBy("id").Offset(-1)); !errors.Is(err, tenantmap.ErrInvalidQuery) {
				t.Errorf("Offset(-1) = %v, want ErrInvalidQuery", err)
			}
			// Control: valid sort keys work, in any case of ASC/DESC.
			rows, err := notes.Find(ctxKeep, tenantmap.OrderBy("body desc", "id ASC"))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.IsSortedFunc(rows, func(a, b badNote) int { return strings.Compare(b.Body, a.Body) }) || len(rows) != 3 {
				t.Errorf("OrderBy(body desc) = %+v, want 3 rows by body descending", rows)
			}
		})

		// Last, since a failure here drops a table: second statements
		// hidden behind lexical rules that differ between servers (E'…'
		// escapes and nested comments are PostgreSQL's, [brackets] SQLite's,
		// a comment ends at \r on PostgreSQL only). Each backend must read a
		// statement as its server does, so no second statement ever runs.
		// Where one server would run two statements and the other finds a
		// syntax error, the call must fail on both.
		t.Run("hidden second statement", func(t *testing.T) {
			mustCreate(t, db, "hidden-empty")
			for i, c := range []struct {
				what     string
				mustFail bool // two statements to one server, a syntax error to the other
				run      func(victim string) error
			}{
				{"Exec with an E'…' literal", true, func(victim string) error {
					_, err := db.Exec(ctxKeep, `SELECT CAST(1 AS e'\'); DROP TABLE `+victim+`; --')`)
					return err
				}},
				{"Exec with a [bracketed] identifier", true, func(victim string) error {
					_, err := db.Exec(ctxKeep, `SELECT 1 AS [']; DROP TABLE `+victim+`; SELECT 1 AS [']`)
					return err
				}},
				{"Query with an E'…' literal", true, func(victim string) error {
					rows, err := db.Query(ctxKeep, `SELECT CAST(1 AS e'\'); DROP TABLE `+victim+`; --')`)
					if err == nil {
						for rows.Next() {
						}
						err = rows.Err()
						rows.Close()
					}
					return err
				}},
				{"Find with an E'…' literal in Where", true, func(victim string) error {
					// From an empty table: on SQLite, a SELECT still reading
					// rows would hold a lock that happens to stop the DROP.
					_, err := notes.For("hidden-empty").Find(bg, tenantmap.Where(`CAST(1 AS e'\') IS NOT NULL); DROP TABLE `+victim+`; --'`))
					return err
				}},
				// Whether these fail or run one statement depends on the
				// server; they must never drop the table.
				{"Exec with a backslash in a standard literal", false, func(victim string) error {
					_, err := db.Exec(ctxKeep, `SELECT '\'; DROP TABLE `+victim+`; --'`)
					return err
				}},
				{"Exec with a comment ended by \\r", false, func(victim string) error {
					_, err := db.Exec(ctxKeep, "SELECT 1 -- comment\r; DROP TABLE "+victim)
					return err
				}},
				{"Exec with a nested comment", false, func(victim string) error {
					_, err := db.Exec(ctxKeep, "SELECT 1 /* /* */ ; DROP TABLE "+victim+"; */")
					return err
				}},
				{"Exec with $dollar$ quotes", false, func(victim string) error {
					_, err := db.Exec(ctxKeep, "SELECT $a$; DROP TABLE "+victim+"; SELECT $a$")
					return err
				}},
				{"Exec with a `backquoted` name", false, func(victim string) error {
					_, err := db.Exec(ctxKeep, "SELECT `; DROP TABLE "+victim+"; SELECT `")
					return err
				}},
			} {
				id := fmt.Sprintf("hidden-%d", i)
				mustCreate(t, db, id)
				badInsert(t, notes, id, "precious")
				victim := badPhysical(t, db, b, id)
				tables := physicalTables(t, db)
				err := c.run(victim)
				if err == nil && c.mustFail {
					t.Errorf("%s naming %s succeeded; want an error (it hides a second statement)", c.what, victim)
				}
				if after := physicalTables(t, db); !slices.Equal(after, tables) {
					var gone []string
					for _, tbl := range tables {
						if !slices.Contains(after, tbl) {
							gone = append(gone, tbl)
						}
					}
					t.Errorf("%s: the tables changed; gone: %v", c.what, gone)
					continue
				}
				if n, err := notes.For(id).Count(bg, tenantmap.Query{}); err != nil || n != 1 {
					t.Errorf("%s: %s has %d rows, %v; want 1", c.what, id, n, err)
				}
			}
		})
	})
}
