package tenantmap_test

import (
	"errors"
	"testing"

	"github.com/tenantmap/tenantmap"
)

// filterEscapes are Where fragments written to close the group that keeps a
// fragment inside a shared table's tenant filter (tenant_id = ? AND (frag)),
// or to hide SQL from tenantmap's lexer that the server runs. Each must be
// refused with ErrInvalidQuery on every database.
var filterEscapes = []struct {
	sql  string
	args []any
}{
	{"body = ?) OR (1=1", []any{"x"}},
	{"1=0) OR (1=1", nil},
	{"1=0)) OR ((1=1", nil},
	{"1=0) OR tenant_id <> '' OR (1=1", nil},
	{"'a' = 'a') OR ('b' = 'b", nil},
	{"1=0) UNION SELECT id, owner, body FROM note WHERE (1=1", nil},
	{"(1=0", nil},
	{"1=0)", nil},
	{"1=0 /*! ) OR (1=1 */", nil},  // MySQL runs /*! … */
	{"1=0 /*M! ) OR (1=1 */", nil}, // MariaDB runs /*M! … */
	{"1=0 /*!) OR (1=1*/ AND 1=1", nil},
	{"1=0 -- x\n) OR (1=1", nil},    // the comment ends at the newline
	{"1=0 # x\n) OR (1=1", nil},     // on MySQL # is a comment; elsewhere # is an operator or an error
	{"1=0 \x00) OR (1=1", nil},      // a NUL byte, where a server may stop reading
	{"1=0 -- \x00\n) OR (1=1", nil}, // a NUL byte in a comment
}

// filterBenign are fragments that look odd but keep to the group: they
// must run and return only the tenant's rows.
var filterBenign = []struct {
	sql  string
	args []any
	want int // rows of the tenant's 3
}{
	{"1=0 OR 1=1", nil, 3},
	{"body = ')' OR body <> '('", nil, 3},
	{"(1=1) OR (1=0)", nil, 3},
	{"1=1 -- ) OR (1=1", nil, 3},
	{"1=1 /* ) OR (1=1 */", nil, 3},
	{"body = ?", []any{") OR (1=1"}, 0},
}

// TestWhereCannotEscapeTenantFilter is item 1 of issue 12: a Where fragment
// with an unbalanced ) closed the tenant filter's group on a shared table
// and read every tenant's rows. Every backend is tried: where a table,
// schema or database is the tenant's own, the fragment is refused all the
// same, so that code behaves alike under every placement.
func TestWhereCannotEscapeTenantFilter(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db, notes := isoRegister(t, b)
		mustCreate(t, db, "fa", "fb")
		for _, tenant := range []string{"fa", "fb"} {
			for _, body := range []string{"one", "two", "three"} {
				if err := notes.Insert(tctx(tenant), &isoNote{Owner: tenant, Body: body}); err != nil {
					t.Fatal(err)
				}
			}
		}
		ctx := tctx("fa")
		for _, e := range filterEscapes {
			q := tenantmap.Where(e.sql, e.args...)
			got, err := notes.Find(ctx, q)
			if !errors.Is(err, tenantmap.ErrInvalidQuery) {
				t.Errorf("Find(Where(%q)) = %d rows, %v; want ErrInvalidQuery", e.sql, len(got), err)
			}
			for _, n := range got {
				if n.Owner != "fa" {
					t.Errorf("Find(Where(%q)) returned %s's row %d", e.sql, n.Owner, n.ID)
				}
			}
			if n, err := notes.Count(ctx, q); !errors.Is(err, tenantmap.ErrInvalidQuery) {
				t.Errorf("Count(Where(%q)) = %d, %v; want ErrInvalidQuery", e.sql, n, err)
			}
			if ok, err := notes.Exists(ctx, q); !errors.Is(err, tenantmap.ErrInvalidQuery) {
				t.Errorf("Exists(Where(%q)) = %v, %v; want ErrInvalidQuery", e.sql, ok, err)
			}
			if _, err := notes.First(ctx, q); !errors.Is(err, tenantmap.ErrInvalidQuery) {
				t.Errorf("First(Where(%q)) = %v; want ErrInvalidQuery", e.sql, err)
			}
			for n, err := range notes.All(ctx, q) {
				if !errors.Is(err, tenantmap.ErrInvalidQuery) {
					t.Errorf("All(Where(%q)) = %v, %v; want ErrInvalidQuery", e.sql, n, err)
				}
				break
			}
		}
		for _, o := range []string{"id) OR (1=1", "id DESC, (SELECT 1)", "id; DROP TABLE note", "owner COLLATE x"} {
			if _, err := notes.Find(ctx, tenantmap.OrderBy(o)); !errors.Is(err, tenantmap.ErrInvalidQuery) {
				t.Errorf("OrderBy(%q): %v, want ErrInvalidQuery", o, err)
			}
		}
		for _, e := range filterBenign {
			got, err := notes.Find(ctx, tenantmap.Where(e.sql, e.args...))
			if err != nil {
				t.Errorf("Find(Where(%q)): %v", e.sql, err)
				continue
			}
			if len(got) != e.want {
				t.Errorf("Find(Where(%q)) = %d rows, want %d", e.sql, len(got), e.want)
			}
			for _, n := range got {
				if n.Owner != "fa" {
					t.Errorf("Find(Where(%q)) returned %s's row %d", e.sql, n.Owner, n.ID)
				}
			}
		}
	})
}

// TestRLSPolicyHoldsWithoutTheFilter shows that under Config.RowLevelSecurity
// the database keeps a tenant to its rows even where tenantmap's own filter
// does not: a raw statement whose {tenant} filter is or-ed away reads
// only the tenant's rows.
func TestRLSPolicyHoldsWithoutTheFilter(t *testing.T) {
	db := postgresRLSOpen(t)
	notes, err := tenantmap.Register[isoNote](db, tenantmap.SharedTable(""), tenantmap.ModelName("note"))
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, "ra", "rb")
	for _, tenant := range []string{"ra", "rb"} {
		for range 3 {
			if err := notes.Insert(tctx(tenant), &isoNote{Owner: tenant, Body: "x"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	owners := rawStrings(t, db, tctx("ra"), "SELECT owner FROM {note} WHERE {tenant} OR 1=1")
	if len(owners) != 3 {
		t.Errorf("the policy let %d rows through, want ra's 3: %v", len(owners), owners)
	}
	for _, o := range owners {
		if o != "ra" {
			t.Errorf("ra read %s's row through the policy", o)
		}
	}
}

// FuzzFilter throws Where fragments, their argument and OrderBy keys at a
// shared table on SQLite and asserts what matters to an attacker: every row
// that comes back is the tenant's, the count never exceeds the tenant's,
// and a refusal is a typed error. CI runs it for a fixed budget.
func FuzzFilter(f *testing.F) {
	for _, e := range filterEscapes {
		arg := ""
		if len(e.args) > 0 {
			arg = e.args[0].(string)
		}
		f.Add(e.sql, arg, "id")
	}
	for _, e := range filterBenign {
		f.Add(e.sql, "x", "body DESC")
	}
	f.Add("owner = ?", "fb", "owner")
	f.Add("body IN (SELECT body FROM note)", "", "id) OR (1=1")
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
	f.Fuzz(func(t *testing.T, where, arg, order string) {
		for _, args := range [][]any{nil, {arg}} {
			q := tenantmap.Where(where, args...)
			if order != "" {
				q = q.OrderBy(order)
			}
			got, err := notes.Find(ctx, q)
			var te *tenantmap.Error
			if err != nil && !errors.As(err, &te) {
				t.Fatalf("Find(Where(%q, %v).OrderBy(%q)): untyped error %v", where, args, order, err)
			}
			for _, n := range got {
				if n.Owner != "fa" {
					t.Fatalf("Find(Where(%q, %v).OrderBy(%q)) returned %s's row %d", where, args, order, n.Owner, n.ID)
				}
			}
			if len(got) > 3 {
				t.Fatalf("Find(Where(%q, %v)) returned %d rows; fa has 3", where, args, len(got))
			}
			n, err := notes.Count(ctx, tenantmap.Where(where, args...))
			if err != nil && !errors.As(err, &te) {
				t.Fatalf("Count(Where(%q, %v)): untyped error %v", where, args, err)
			}
			if n > 3 {
				t.Fatalf("Count(Where(%q, %v)) = %d; fa has 3", where, args, n)
			}
		}
	})
}
