package tenantmap_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/tenantmap/tenantmap"
)

// Member has a caller-set key and a unique column besides it.
type Member struct {
	ID     string `tm:",pk"`
	Email  string `tm:",unique"`
	Name   string
	Visits int
}

type upsertFixture struct {
	db      *tenantmap.DB
	members *tenantmap.Table[Member]
	cases   *tenantmap.Table[Case]
}

func newUpsertFixture(t *testing.T, b backend, tenants ...string) upsertFixture {
	t.Helper()
	db := b.open(t)
	members, err := tenantmap.Register[Member](db, b.strategy("{tenant}_member"))
	if err != nil {
		t.Fatal(err)
	}
	cases, err := tenantmap.Register[Case](db, b.strategy("{tenant}_case"))
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, tenants...)
	return upsertFixture{db: db, members: members, cases: cases}
}

func getMember(t *testing.T, tbl *tenantmap.Table[Member], tenant, id string) *Member {
	t.Helper()
	m, err := tbl.Get(tctx(tenant), id)
	if err != nil {
		t.Fatalf("get %s of %s: %v", id, tenant, err)
	}
	return m
}

func TestUpsert(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newUpsertFixture(t, b, "acme")
		ctx := tctx("acme")

		// By key: insert, then nothing, then update of named columns, then of all.
		stored, err := f.members.Upsert(ctx, &Member{ID: "m1", Email: "a@x", Name: "Ann", Visits: 1}, tenantmap.OnConflict().DoNothing())
		if err != nil || !stored {
			t.Fatalf("first upsert: stored %v, %v", stored, err)
		}
		stored, err = f.members.Upsert(ctx, &Member{ID: "m1", Email: "a@x", Name: "Other", Visits: 9}, tenantmap.OnConflict().DoNothing())
		if err != nil || stored {
			t.Fatalf("DoNothing on a conflict: stored %v, %v", stored, err)
		}
		if m := getMember(t, f.members, "acme", "m1"); m.Name != "Ann" || m.Visits != 1 {
			t.Errorf("DoNothing changed the row: %+v", m)
		}
		stored, err = f.members.Upsert(ctx, &Member{ID: "m1", Email: "a@x", Name: "Anna", Visits: 9}, tenantmap.OnConflict("id").DoUpdate("name"))
		if err != nil || !stored {
			t.Fatalf("DoUpdate(name): stored %v, %v", stored, err)
		}
		if m := getMember(t, f.members, "acme", "m1"); m.Name != "Anna" || m.Visits != 1 {
			t.Errorf("DoUpdate(name): want name Anna and visits 1, got %+v", m)
		}
		if _, err = f.members.Upsert(ctx, &Member{ID: "m1", Email: "a@x", Name: "Anne", Visits: 3}, tenantmap.OnConflict().DoUpdate()); err != nil {
			t.Fatal(err)
		}
		if m := getMember(t, f.members, "acme", "m1"); m.Name != "Anne" || m.Visits != 3 {
			t.Errorf("DoUpdate(): want every column set, got %+v", m)
		}
		// An update with the values the row has already counts as stored
		// (MySQL reports 0 rows for it).
		if stored, err = f.members.Upsert(ctx, &Member{ID: "m1", Email: "a@x", Name: "Anne", Visits: 3}, tenantmap.OnConflict().DoUpdate()); err != nil || !stored {
			t.Errorf("DoUpdate with unchanged values: stored %v, %v", stored, err)
		}

		// By a unique index.
		if _, err = f.members.Upsert(ctx, &Member{ID: "m2", Email: "a@x", Name: "By email", Visits: 4}, tenantmap.OnConflict("email").DoUpdate("name", "visits")); err != nil {
			t.Fatal(err)
		}
		if m := getMember(t, f.members, "acme", "m1"); m.Name != "By email" || m.Visits != 4 {
			t.Errorf("OnConflict(email): want m1 updated, got %+v", m)
		}
		if n, _ := f.members.Count(ctx, tenantmap.Query{}); n != 1 {
			t.Errorf("OnConflict(email) inserted a row: %d rows", n)
		}

		// A generated key: the target is a unique index; the key comes back
		// on insert and on update.
		c1 := &Case{Title: "first", Ref: "R-1"}
		if stored, err := f.cases.Upsert(ctx, c1, tenantmap.OnConflict("ref").DoUpdate("title")); err != nil || !stored || c1.ID == 0 {
			t.Fatalf("upsert of a new case: stored %v, id %d, %v", stored, c1.ID, err)
		}
		c2 := &Case{Title: "second", Ref: "R-1"}
		if stored, err := f.cases.Upsert(ctx, c2, tenantmap.OnConflict("ref").DoUpdate("title")); err != nil || !stored || c2.ID != c1.ID {
			t.Fatalf("upsert over R-1: stored %v, id %d (want %d), %v", stored, c2.ID, c1.ID, err)
		}
		if got, err := f.cases.Get(ctx, c1.ID); err != nil || got.Title != "second" {
			t.Errorf("after DoUpdate(title): %+v, %v", got, err)
		}
		c3 := &Case{Title: "third", Ref: "R-1"}
		if stored, err := f.cases.Upsert(ctx, c3, tenantmap.OnConflict("ref").DoNothing()); err != nil || stored || c3.ID != 0 {
			t.Errorf("DoNothing over R-1: stored %v, id %d, %v", stored, c3.ID, err)
		}
		if got, _ := f.cases.Get(ctx, c1.ID); got == nil || got.Title != "second" {
			t.Errorf("DoNothing changed the case: %+v", got)
		}
		c4 := &Case{Title: "fourth", Ref: "R-4"}
		if stored, err := f.cases.Upsert(ctx, c4, tenantmap.OnConflict("ref").DoNothing()); err != nil || !stored || c4.ID == 0 || c4.ID == c1.ID {
			t.Errorf("DoNothing without a conflict: stored %v, id %d, %v", stored, c4.ID, err)
		}

		// Refused before any SQL.
		for name, c := range map[string]tenantmap.Conflict{
			"no action":            tenantmap.OnConflict(),
			"not a unique index":   tenantmap.OnConflict("name").DoNothing(),
			"unknown column":       tenantmap.OnConflict("nope").DoNothing(),
			"update the key":       tenantmap.OnConflict().DoUpdate("id"),
			"update unknown":       tenantmap.OnConflict().DoUpdate("nope"),
			"tenant column target": tenantmap.OnConflict(tenantmap.TenantColumn, "id").DoNothing(),
		} {
			if _, err := f.members.Upsert(ctx, &Member{ID: "m9", Email: "z@x"}, c); !errors.Is(err, tenantmap.ErrInvalidQuery) {
				t.Errorf("%s: want ErrInvalidQuery, got %v", name, err)
			}
		}
		if _, err := f.cases.Upsert(ctx, &Case{Title: "x", Ref: "R-9"}, tenantmap.OnConflict().DoNothing()); !errors.Is(err, tenantmap.ErrInvalidQuery) {
			t.Errorf("a generated key as the target: want ErrInvalidQuery, got %v", err)
		}
		if _, err := f.members.Upsert(ctx, &Member{Email: "k@x"}, tenantmap.OnConflict().DoNothing()); !errors.Is(err, tenantmap.ErrInvalidQuery) {
			t.Errorf("an empty caller-set key: want ErrInvalidQuery, got %v", err)
		}
		var te *tenantmap.Error
		if _, err := f.members.Upsert(ctx, &Member{ID: "m9"}, tenantmap.OnConflict()); !errors.As(err, &te) || te.Op != "upsert" || te.Tenant != "acme" {
			t.Errorf("error does not name the operation and tenant: %v", err)
		}
		// Inside a transaction, rolled back with it.
		errRollback := errors.New("roll back")
		err = f.db.InTx(ctx, func(ctx context.Context) error {
			if _, err := f.members.Upsert(ctx, &Member{ID: "m1", Email: "a@x", Name: "in tx"}, tenantmap.OnConflict().DoUpdate("name")); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		if m := getMember(t, f.members, "acme", "m1"); m.Name != "By email" {
			t.Errorf("a rolled-back upsert stayed: %+v", m)
		}
	})
}

// TestUpsertCannotTouchAnotherTenant: tenant b upserting with tenant a's
// key, or a's unique values, gets a row of its own; a's row is untouched.
func TestUpsertCannotTouchAnotherTenant(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newUpsertFixture(t, b, "a", "b")
		if err := f.members.Insert(tctx("a"), &Member{ID: "m1", Email: "a@x", Name: "A's", Visits: 1}); err != nil {
			t.Fatal(err)
		}
		ac := &Case{Title: "A's case", Ref: "R-1"}
		if err := f.cases.Insert(tctx("a"), ac); err != nil {
			t.Fatal(err)
		}
		bctx := tctx("b")
		for _, c := range []tenantmap.Conflict{
			tenantmap.OnConflict().DoUpdate(),
			tenantmap.OnConflict("email").DoUpdate("name", "visits"),
			tenantmap.OnConflict("id").DoNothing(),
		} {
			if _, err := f.members.Upsert(bctx, &Member{ID: "m1", Email: "a@x", Name: "evil", Visits: 666}, c); err != nil {
				t.Fatalf("b's upsert: %v", err)
			}
		}
		if m := getMember(t, f.members, "a", "m1"); m.Name != "A's" || m.Visits != 1 {
			t.Errorf("tenant b's upsert changed tenant a's row: %+v", m)
		}
		if m := getMember(t, f.members, "b", "m1"); m.Name != "evil" {
			t.Errorf("tenant b's upsert did not make b's own row: %+v", m)
		}
		// A generated key is never sent: b's case with a's key and ref is b's.
		bc := &Case{ID: ac.ID, Title: "evil", Ref: "R-1"}
		if _, err := f.cases.Upsert(bctx, bc, tenantmap.OnConflict("ref").DoUpdate()); err != nil {
			t.Fatalf("b's case upsert: %v", err)
		}
		if got, err := f.cases.Get(tctx("a"), ac.ID); err != nil || got.Title != "A's case" {
			t.Errorf("tenant b's upsert changed tenant a's case: %+v, %v", got, err)
		}
		if n, _ := f.cases.Count(tctx("a"), tenantmap.Query{}); n != 1 {
			t.Errorf("tenant a has %d cases, want 1", n)
		}
		if got, err := f.cases.First(bctx, tenantmap.Where("ref = ?", "R-1")); err != nil || got.Title != "evil" {
			t.Errorf("b's case: %+v, %v", got, err)
		}
	})
}

func TestUpdateWhereDeleteWhere(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newUpsertFixture(t, b, "a", "b")
		for _, tenant := range []string{"a", "b"} {
			for i, id := range []string{"m1", "m2", "m3"} {
				if err := f.members.Insert(tctx(tenant), &Member{ID: id, Email: id + "@x", Name: tenant, Visits: i}); err != nil {
					t.Fatal(err)
				}
			}
		}
		actx := tctx("a")
		names := func(tenant string) []string {
			t.Helper()
			ms, err := f.members.Find(tctx(tenant), tenantmap.OrderBy("id"))
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, m := range ms {
				out = append(out, m.ID+"="+m.Name)
			}
			return out
		}
		n, err := f.members.UpdateWhere(actx, tenantmap.Where("visits >= ?", 1), &Member{Name: "busy"}, "name")
		if err != nil || n != 2 {
			t.Fatalf("UpdateWhere: %d rows, %v", n, err)
		}
		if got := names("a"); !slices.Equal(got, []string{"m1=a", "m2=busy", "m3=busy"}) {
			t.Errorf("a after UpdateWhere: %v", got)
		}
		// A filter that tries to leave the tenant's rows: OR binds inside
		// its parentheses, an unbalanced ) is refused.
		if n, err = f.members.UpdateWhere(actx, tenantmap.Where("name = ? OR 1=1", "none"), &Member{Name: "all"}, "name"); err != nil || n != 3 {
			t.Fatalf("UpdateWhere with OR 1=1: %d rows, %v", n, err)
		}
		for _, escape := range []string{"1=0) OR (1=1", "1=0)) OR ((1=1", "1=1) --"} {
			if _, err := f.members.UpdateWhere(actx, tenantmap.Where(escape), &Member{Name: "escaped"}, "name"); !errors.Is(err, tenantmap.ErrInvalidQuery) {
				t.Errorf("UpdateWhere(%q): want ErrInvalidQuery, got %v", escape, err)
			}
			if _, err := f.members.DeleteWhere(actx, tenantmap.Where(escape)); !errors.Is(err, tenantmap.ErrInvalidQuery) {
				t.Errorf("DeleteWhere(%q): want ErrInvalidQuery, got %v", escape, err)
			}
		}
		if got := names("b"); !slices.Equal(got, []string{"m1=b", "m2=b", "m3=b"}) {
			t.Errorf("tenant a's UpdateWhere reached b's rows: %v", got)
		}

		if n, err = f.members.DeleteWhere(actx, tenantmap.Where("id = ? OR 1=1", "m1")); err != nil || n != 3 {
			t.Fatalf("DeleteWhere with OR 1=1: %d rows, %v", n, err)
		}
		if got := names("a"); len(got) != 0 {
			t.Errorf("a after DeleteWhere: %v", got)
		}
		if got := names("b"); !slices.Equal(got, []string{"m1=b", "m2=b", "m3=b"}) {
			t.Errorf("tenant a's DeleteWhere reached b's rows: %v", got)
		}
		if n, err = f.members.DeleteWhere(tctx("b"), tenantmap.Where("visits = ?", 0)); err != nil || n != 1 {
			t.Errorf("DeleteWhere(visits = 0) for b: %d rows, %v", n, err)
		}

		// Refused before any SQL.
		for name, q := range map[string]tenantmap.Query{
			"no filter": {},
			"order":     tenantmap.Where("1=1").OrderBy("id"),
			"limit":     tenantmap.Where("1=1").Limit(1),
		} {
			if _, err := f.members.DeleteWhere(actx, q); !errors.Is(err, tenantmap.ErrInvalidQuery) {
				t.Errorf("DeleteWhere, %s: want ErrInvalidQuery, got %v", name, err)
			}
			if _, err := f.members.UpdateWhere(actx, q, &Member{}, "name"); !errors.Is(err, tenantmap.ErrInvalidQuery) {
				t.Errorf("UpdateWhere, %s: want ErrInvalidQuery, got %v", name, err)
			}
		}
		for _, cols := range [][]string{nil, {"id"}, {"nope"}, {"name", "name"}, {tenantmap.TenantColumn}} {
			if _, err := f.members.UpdateWhere(actx, tenantmap.Where("1=1"), &Member{}, cols...); !errors.Is(err, tenantmap.ErrInvalidQuery) {
				t.Errorf("UpdateWhere(%v): want ErrInvalidQuery, got %v", cols, err)
			}
		}
		if _, err := f.members.DeleteWhere(tenantmap.WithTenant(context.Background(), ""), tenantmap.Where("1=1")); err == nil {
			t.Error("DeleteWhere without a tenant succeeded")
		}
	})
}

// TestWriteWhereCannotEscapeTenantFilter tries item 1's escapes on the
// writes that take a Query: each is refused, typed; the benign fragments
// change only the tenant's rows.
func TestWriteWhereCannotEscapeTenantFilter(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db, notes := isoRegister(t, b)
		mustCreate(t, db, "fa", "fb")
		fill := func(tenant string) {
			t.Helper()
			if _, err := notes.DeleteWhere(tctx(tenant), tenantmap.Where("1=1")); err != nil {
				t.Fatal(err)
			}
			for _, body := range []string{"one", "two", "three"} {
				if err := notes.Insert(tctx(tenant), &isoNote{Owner: tenant, Body: body}); err != nil {
					t.Fatal(err)
				}
			}
		}
		fill("fa")
		fill("fb")
		ctx := tctx("fa")
		for _, e := range filterEscapes {
			q := tenantmap.Where(e.sql, e.args...)
			if n, err := notes.UpdateWhere(ctx, q, &isoNote{Body: "escaped"}, "body"); !errors.Is(err, tenantmap.ErrInvalidQuery) {
				t.Errorf("UpdateWhere(Where(%q)) = %d rows, %v; want ErrInvalidQuery", e.sql, n, err)
			}
			if n, err := notes.DeleteWhere(ctx, q); !errors.Is(err, tenantmap.ErrInvalidQuery) {
				t.Errorf("DeleteWhere(Where(%q)) = %d rows, %v; want ErrInvalidQuery", e.sql, n, err)
			}
		}
		for _, e := range filterBenign {
			q := tenantmap.Where(e.sql, e.args...)
			if n, err := notes.UpdateWhere(ctx, q, &isoNote{Owner: "fb", Body: "changed"}, "owner", "body"); err != nil || n != int64(e.want) {
				t.Errorf("UpdateWhere(Where(%q)) = %d rows, %v; want %d", e.sql, n, err, e.want)
			}
			fill("fa")
			if n, err := notes.DeleteWhere(ctx, q); err != nil || n != int64(e.want) {
				t.Errorf("DeleteWhere(Where(%q)) = %d rows, %v; want %d", e.sql, n, err, e.want)
			}
			fill("fa")
		}
		got, err := notes.Find(tctx("fb"), tenantmap.OrderBy("id"))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range got {
			if n.Body == "changed" || n.Body == "escaped" {
				t.Errorf("fa's writes reached fb's row %+v", n)
			}
		}
		if len(got) != 3 {
			t.Errorf("fb has %d rows after fa's deletes, want 3", len(got))
		}
	})
}

// FuzzWriteFilter throws Where fragments at UpdateWhere and DeleteWhere on
// a shared table on SQLite and asserts that the other tenant's rows are
// never changed or deleted, and that a refusal is typed.
func FuzzWriteFilter(f *testing.F) {
	for _, e := range filterEscapes {
		arg := ""
		if len(e.args) > 0 {
			arg = e.args[0].(string)
		}
		f.Add(e.sql, arg)
	}
	for _, e := range filterBenign {
		f.Add(e.sql, "x")
	}
	f.Add("owner = ?", "fb")
	f.Add("id IN (SELECT id FROM note)", "")
	db := sqliteOpen(f)
	notes, err := tenantmap.Register[isoNote](db, tenantmap.SharedTable(""), tenantmap.ModelName("note"))
	if err != nil {
		f.Fatal(err)
	}
	mustCreate(f, db, "fa", "fb")
	for _, tenant := range []string{"fa", "fb"} {
		for _, body := range []string{"one", "x", ") OR (1=1"} {
			if err := notes.Insert(tctx(tenant), &isoNote{Owner: tenant, Body: body}); err != nil {
				f.Fatal(err)
			}
		}
	}
	ctx := tctx("fa")
	fbRows := func(t *testing.T) []isoNote {
		got, err := notes.Find(tctx("fb"), tenantmap.OrderBy("id"))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	f.Fuzz(func(t *testing.T, where, arg string) {
		before := fbRows(t)
		for _, args := range [][]any{nil, {arg}} {
			q := tenantmap.Where(where, args...)
			var te *tenantmap.Error
			if _, err := notes.UpdateWhere(ctx, q, &isoNote{Owner: "fa", Body: "fuzzed"}, "body"); err != nil && !errors.As(err, &te) {
				t.Fatalf("UpdateWhere(Where(%q, %v)): untyped error %v", where, args, err)
			}
			if _, err := notes.DeleteWhere(ctx, q); err != nil && !errors.As(err, &te) {
				t.Fatalf("DeleteWhere(Where(%q, %v)): untyped error %v", where, args, err)
			}
		}
		if after := fbRows(t); !slices.Equal(before, after) {
			t.Fatalf("Where(%q, %q) reached fb's rows: %v, then %v", where, arg, before, after)
		}
		// fa's rows come back for the next input.
		if n, _ := notes.Count(ctx, tenantmap.Query{}); n < 3 {
			for i := n; i < 3; i++ {
				if err := notes.Insert(ctx, &isoNote{Owner: "fa", Body: "x"}); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
