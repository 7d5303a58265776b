package tenantmap_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

type Meta struct {
	Source string `json:"source"`
	Score  int    `json:"score"`
}

// Case exercises every kind of column the core supports.
type Case struct {
	ID        int64
	Title     string `tm:",size:200"`
	Status    string `tm:",index,default:open"`
	Priority  int    `tm:",index:status_priority"`
	Score     float64
	Urgent    bool
	Assignee  *string
	Due       sql.NullTime
	Note      sql.NullString
	Blob      []byte
	Tags      []string
	Meta      Meta
	Attrs     map[string]any
	CreatedAt time.Time `tm:",default:now"`
	Ref       string    `tm:",unique"`
}

// Comment has a caller-set string key.
type Comment struct {
	ID     string `tm:",pk"`
	CaseID int64  `tm:",index"`
	Body   string
	At     time.Time
}

type fixture struct {
	db       *tenantmap.DB
	cases    *tenantmap.Table[Case]
	comments *tenantmap.Table[Comment]
}

func newFixture(t *testing.T, b backend, tenants ...string) fixture {
	t.Helper()
	db := b.open(t)
	cases, err := tenantmap.Register[Case](db, b.strategy("{tenant}_case"))
	if err != nil {
		t.Fatal(err)
	}
	comments, err := tenantmap.Register[Comment](db, b.strategy("{tenant}_comment"))
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, tenants...)
	return fixture{db: db, cases: cases, comments: comments}
}

func tctx(id string) context.Context { return tenantmap.WithTenant(context.Background(), id) }

func ptr[T any](v T) *T { return &v }

func sameCase(t *testing.T, want, got *Case) {
	t.Helper()
	if !want.CreatedAt.Equal(got.CreatedAt) {
		t.Errorf("CreatedAt: want %v, got %v", want.CreatedAt, got.CreatedAt)
	}
	if want.Due.Valid != got.Due.Valid || want.Due.Valid && !want.Due.Time.Equal(got.Due.Time) {
		t.Errorf("Due: want %v, got %v", want.Due, got.Due)
	}
	w, g := *want, *got
	w.CreatedAt, g.CreatedAt = time.Time{}, time.Time{}
	w.Due, g.Due = sql.NullTime{}, sql.NullTime{}
	if !reflect.DeepEqual(w, g) {
		t.Errorf("row differs:\nwant %+v\n got %+v", w, g)
	}
}

func TestConformanceCRUD(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b, "acme")
		ctx := tctx("acme")
		due := time.Date(2026, 12, 1, 9, 30, 0, 123456000, time.UTC)
		c := &Case{
			Title: "Login fails", Priority: 2, Score: 1.5, Urgent: true,
			Assignee: ptr("ann"), Due: sql.NullTime{Time: due, Valid: true},
			Blob: []byte{0, 1, 2, 255}, Tags: []string{"a", "b"},
			Meta: Meta{Source: "mail", Score: 7}, Attrs: map[string]any{"k": "v", "n": float64(3)},
			Ref: "R-1",
		}
		if err := f.cases.Insert(ctx, c); err != nil {
			t.Fatal(err)
		}
		if c.ID == 0 {
			t.Fatal("Insert did not fill the generated key")
		}
		if c.Status != "open" {
			t.Errorf("default not applied: status %q", c.Status)
		}
		if c.CreatedAt.IsZero() {
			t.Error("default now not applied")
		}
		got, err := f.cases.Get(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameCase(t, c, got)

		// NULLs round-trip as NULLs.
		c2 := &Case{Title: "bare", Ref: "R-2", CreatedAt: due}
		if err := f.cases.Insert(ctx, c2); err != nil {
			t.Fatal(err)
		}
		if c2.ID == c.ID {
			t.Fatal("second insert reused the key")
		}
		got2, err := f.cases.Get(ctx, c2.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got2.Assignee != nil || got2.Due.Valid || got2.Note.Valid || got2.Attrs != nil {
			t.Errorf("NULL columns came back set: %+v", got2)
		}
		sameCase(t, c2, got2)

		// Update writes every column.
		got.Title, got.Assignee, got.Note = "Login fails on Safari", nil, sql.NullString{String: "seen twice", Valid: true}
		got.Meta.Score = 9
		if err := f.cases.Update(ctx, got); err != nil {
			t.Fatal(err)
		}
		again, err := f.cases.Get(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameCase(t, got, again)

		// UpdateColumns writes only the named columns.
		again.Title, again.Priority = "ignored", 5
		if err := f.cases.UpdateColumns(ctx, again, "priority"); err != nil {
			t.Fatal(err)
		}
		third, _ := f.cases.Get(ctx, c.ID)
		if third.Priority != 5 || third.Title != "Login fails on Safari" {
			t.Errorf("UpdateColumns: got priority %d title %q", third.Priority, third.Title)
		}
		for _, bad := range [][]string{nil, {"id"}, {"nope"}, {"title", "title"}} {
			if err := f.cases.UpdateColumns(ctx, again, bad...); !errors.Is(err, tenantmap.ErrInvalidQuery) {
				t.Errorf("UpdateColumns(%v): want ErrInvalidQuery, got %v", bad, err)
			}
		}

		// Delete, and not-found everywhere matching sql.ErrNoRows too.
		if err := f.cases.Delete(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		for name, err := range map[string]error{
			"get":    func() error { _, err := f.cases.Get(ctx, c.ID); return err }(),
			"delete": f.cases.Delete(ctx, c.ID),
			"update": f.cases.Update(ctx, got),
			"first":  func() error { _, err := f.cases.First(ctx, tenantmap.Where("title = ?", "none")); return err }(),
		} {
			if !errors.Is(err, tenantmap.ErrNotFound) || !errors.Is(err, sql.ErrNoRows) {
				t.Errorf("%s after delete: want ErrNotFound and sql.ErrNoRows, got %v", name, err)
			}
			var te *tenantmap.Error
			if !errors.As(err, &te) || te.Tenant != "acme" || te.Model != "case" {
				t.Errorf("%s: error does not name tenant and model: %#v", name, err)
			}
		}

		// Unique index.
		dup := &Case{Title: "dup", Ref: "R-2"}
		if err := f.cases.Insert(ctx, dup); err == nil {
			t.Error("inserting a duplicate unique ref succeeded")
		}
	})
}

func TestConformanceStringKey(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b, "acme")
		ctx := tctx("acme")
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		c := &Comment{ID: "c-1", CaseID: 1, Body: "hello", At: at}
		if err := f.comments.Insert(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := f.comments.Get(ctx, "c-1")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != "c-1" || got.Body != "hello" || !got.At.Equal(at) {
			t.Errorf("got %+v", got)
		}
		if err := f.comments.Insert(ctx, &Comment{Body: "no key"}); !errors.Is(err, tenantmap.ErrInvalidQuery) {
			t.Errorf("insert without caller-set key: want ErrInvalidQuery, got %v", err)
		}
		if err := f.comments.Insert(ctx, c); err == nil {
			t.Error("duplicate key insert succeeded")
		}
	})
}

func TestConformanceQueries(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b, "acme")
		ctx := tctx("acme")
		var all []*Case
		for i := 1; i <= 20; i++ {
			status := "open"
			if i%4 == 0 {
				status = "closed"
			}
			all = append(all, &Case{Title: fmt.Sprintf("case %02d", i), Status: status, Priority: i % 5, Ref: fmt.Sprint(i)})
		}
		if err := f.cases.InsertMany(ctx, all); err != nil {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		for _, c := range all {
			if c.ID == 0 || seen[c.ID] {
				t.Fatalf("InsertMany keys not filled or repeated: %d", c.ID)
			}
			seen[c.ID] = true
			got, err := f.cases.Get(ctx, c.ID)
			if err != nil || got.Title != c.Title {
				t.Fatalf("InsertMany key %d does not fetch its own row: %v %v", c.ID, got, err)
			}
		}

		open, err := f.cases.Find(ctx, tenantmap.Where("status = ?", "open").OrderBy("priority DESC", "title").Limit(5).Offset(2))
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		var opens []*Case
		for _, c := range all {
			if c.Status == "open" {
				opens = append(opens, c)
			}
		}
		slices.SortFunc(opens, func(a, b *Case) int {
			if a.Priority != b.Priority {
				return b.Priority - a.Priority
			}
			if a.Title < b.Title {
				return -1
			}
			return 1
		})
		for _, c := range opens[2:7] {
			want = append(want, c.Title)
		}
		var gotTitles []string
		for _, c := range open {
			gotTitles = append(gotTitles, c.Title)
		}
		if !slices.Equal(want, gotTitles) {
			t.Errorf("Find: want %v, got %v", want, gotTitles)
		}

		n, err := f.cases.Count(ctx, tenantmap.Where("status = ?", "closed"))
		if err != nil || n != 5 {
			t.Errorf("Count closed: want 5, got %d %v", n, err)
		}
		n, err = f.cases.Count(ctx, tenantmap.Query{}.Limit(1))
		if err != nil || n != 20 {
			t.Errorf("Count all ignores limit: want 20, got %d %v", n, err)
		}
		ok, err := f.cases.Exists(ctx, tenantmap.Where("priority = ?", 4).Where("status = ?", "closed"))
		if err != nil || !ok {
			t.Errorf("Exists: want true, got %v %v", ok, err)
		}
		ok, err = f.cases.Exists(ctx, tenantmap.Where("priority > ?", 100))
		if err != nil || ok {
			t.Errorf("Exists: want false, got %v %v", ok, err)
		}
		first, err := f.cases.First(ctx, tenantmap.OrderBy("title DESC"))
		if err != nil || first.Title != "case 20" {
			t.Errorf("First: got %v %v", first, err)
		}

		// The iterator streams and stops early without leaking the rows.
		count := 0
		for c, err := range f.cases.All(ctx, tenantmap.OrderBy("id")) {
			if err != nil {
				t.Fatal(err)
			}
			count++
			if c.ID != all[count-1].ID {
				t.Errorf("All: row %d has key %d, want %d", count, c.ID, all[count-1].ID)
			}
			if count == 3 {
				break
			}
		}
		if count != 3 {
			t.Errorf("All: stopped after %d rows", count)
		}
		// The connection went back to the pool: more calls succeed.
		for range 10 {
			if _, err := f.cases.Count(ctx, tenantmap.Query{}); err != nil {
				t.Fatal(err)
			}
		}

		if _, err := f.cases.Find(ctx, tenantmap.OrderBy("title; DROP TABLE x")); !errors.Is(err, tenantmap.ErrInvalidQuery) {
			t.Errorf("order injection: want ErrInvalidQuery, got %v", err)
		}
		if _, err := f.cases.Find(ctx, tenantmap.Where("status = ? AND priority = ?", "open")); !errors.Is(err, tenantmap.ErrInvalidQuery) {
			t.Errorf("missing arg: want ErrInvalidQuery, got %v", err)
		}
	})
}

func TestConformanceInsertManyStringKey(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b, "acme")
		ctx := tctx("acme")
		var cs []*Comment
		for i := range 1200 { // more than one SQLite chunk
			cs = append(cs, &Comment{ID: fmt.Sprintf("k%04d", i), CaseID: int64(i % 7), Body: "b", At: time.Unix(int64(i), 0)})
		}
		if err := f.comments.InsertMany(ctx, cs); err != nil {
			t.Fatal(err)
		}
		n, err := f.comments.Count(ctx, tenantmap.Query{})
		if err != nil || n != 1200 {
			t.Fatalf("count after InsertMany: %d %v", n, err)
		}
		got, err := f.comments.Get(ctx, "k0999")
		if err != nil || got.CaseID != 999%7 || !got.At.Equal(time.Unix(999, 0)) {
			t.Errorf("got %+v %v", got, err)
		}
		// A batch with a duplicate fails whole: nothing of it lands.
		bad := []*Comment{{ID: "new-1", Body: "x"}, {ID: "k0001", Body: "dup"}}
		if err := f.comments.InsertMany(ctx, bad); err == nil {
			t.Fatal("InsertMany with a duplicate key succeeded")
		}
		if _, err := f.comments.Get(ctx, "new-1"); !errors.Is(err, tenantmap.ErrNotFound) {
			t.Errorf("a failed InsertMany left a row behind: %v", err)
		}
	})
}

func TestConformanceRaw(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b, "acme", "globex")
		for _, id := range []string{"acme", "globex"} {
			for i := range 3 {
				if err := f.cases.Insert(tctx(id), &Case{Title: id, Priority: i, Ref: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		ctx := tctx("acme")
		n, err := f.db.Exec(ctx, "UPDATE {case} SET status = ? WHERE priority >= ? AND {tenant}", "closed", 1)
		if err != nil || n != 2 {
			t.Fatalf("Exec: %d %v", n, err)
		}
		rows, err := f.db.Query(ctx, "SELECT c.title, count(*) FROM {case} c JOIN {comment} m ON m.case_id = c.id OR 1=1 WHERE c.status = ? AND {c.tenant} AND {m.tenant} GROUP BY c.title", "closed")
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
		var title string
		var cnt int64
		if err := f.db.QueryRow(ctx, "SELECT title, count(*) FROM {case} WHERE status = ? AND {tenant} GROUP BY title", "closed").Scan(&title, &cnt); err != nil {
			t.Fatal(err)
		}
		if title != "acme" || cnt != 2 {
			t.Errorf("raw query saw %q × %d, want acme × 2", title, cnt)
		}
		// globex was not touched.
		gn, _ := f.cases.Count(tctx("globex"), tenantmap.Where("status = ?", "closed"))
		if gn != 0 {
			t.Errorf("raw Exec for acme closed %d of globex's cases", gn)
		}
		// A string literal with braces and question marks is left alone.
		var lit string
		if err := f.db.QueryRow(ctx, "SELECT '{case} ?' FROM {case} WHERE id = ? AND {tenant}", 1).Scan(&lit); err != nil || lit != "{case} ?" {
			t.Errorf("literal rewritten: %q %v", lit, err)
		}
		for _, bad := range []string{"SELECT * FROM {nope}", "SELECT 1; SELECT 2", "SELECT ? FROM {case}"} {
			if _, err := f.db.Exec(ctx, bad); !errors.Is(err, tenantmap.ErrInvalidQuery) {
				t.Errorf("%q: want ErrInvalidQuery, got %v", bad, err)
			}
		}
		if err := f.db.QueryRow(ctx, "SELECT title FROM {case} WHERE id = ? AND {tenant}", -1).Scan(&title); !errors.Is(err, tenantmap.ErrNotFound) {
			t.Errorf("QueryRow no row: %v", err)
		}
	})
}

func TestConformanceTx(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b, "acme", "globex")
		ctx := tctx("acme")
		// Commit spans both models.
		err := f.db.InTx(ctx, func(ctx context.Context) error {
			c := &Case{Title: "in tx", Ref: "t1"}
			if err := f.cases.Insert(ctx, c); err != nil {
				return err
			}
			return f.comments.Insert(ctx, &Comment{ID: "m1", CaseID: c.ID, Body: "x"})
		})
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := f.comments.Count(ctx, tenantmap.Query{}); n != 1 {
			t.Errorf("committed comment missing: %d", n)
		}
		// An error rolls back both.
		boom := errors.New("boom")
		err = f.db.InTx(ctx, func(ctx context.Context) error {
			if err := f.cases.Insert(ctx, &Case{Title: "rolled back", Ref: "t2"}); err != nil {
				return err
			}
			if err := f.comments.Insert(ctx, &Comment{ID: "m2", Body: "y"}); err != nil {
				return err
			}
			if _, err := f.db.Exec(ctx, "DELETE FROM {comment} WHERE id = ? AND {tenant}", "m1"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx returned %v, want boom", err)
		}
		if n, _ := f.cases.Count(ctx, tenantmap.Query{}); n != 1 {
			t.Errorf("rollback kept a case: %d", n)
		}
		if _, err := f.comments.Get(ctx, "m1"); err != nil {
			t.Errorf("rollback lost m1: %v", err)
		}
		// A panic rolls back and propagates.
		func() {
			defer func() {
				if recover() == nil {
					t.Error("panic swallowed")
				}
			}()
			_ = f.db.InTx(ctx, func(ctx context.Context) error {
				_ = f.cases.Insert(ctx, &Case{Title: "panic", Ref: "t3"})
				panic("boom")
			})
		}()
		if n, _ := f.cases.Count(ctx, tenantmap.Query{}); n != 1 {
			t.Errorf("panic kept a case: %d", n)
		}
		// Another tenant inside the transaction is refused.
		err = f.db.InTx(ctx, func(ctx context.Context) error {
			_, err := f.cases.For("globex").Count(context.WithoutCancel(ctx), tenantmap.Query{})
			if !errors.Is(err, tenantmap.ErrTenantMismatch) {
				t.Errorf("cross-tenant call in tx: want ErrTenantMismatch, got %v", err)
			}
			_, err = f.cases.Count(tenantmap.WithTenant(ctx, "globex"), tenantmap.Query{})
			if !errors.Is(err, tenantmap.ErrTenantMismatch) {
				t.Errorf("cross-tenant context in tx: want ErrTenantMismatch, got %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestConformanceTenants(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		var ids []string
		for i := range 25 {
			ids = append(ids, fmt.Sprintf("t%02d", i))
		}
		before := time.Now().Add(-time.Minute)
		mustCreate(t, f.db, ids...)
		ten, err := f.db.Tenants().Get(ctx, "t07")
		if err != nil {
			t.Fatal(err)
		}
		if ten.ID != "t07" || ten.Key != "t07" || ten.Status != tenantmap.StatusActive || ten.Version != 1 || ten.CreatedAt.Before(before) {
			t.Errorf("Get: %+v", ten)
		}
		if _, err := f.db.Tenants().Create(ctx, "t07"); !errors.Is(err, tenantmap.ErrTenantExists) {
			t.Errorf("second Create: want ErrTenantExists, got %v", err)
		}
		var listed []string
		after := ""
		pages := 0
		for {
			page, next, err := f.db.Tenants().List(ctx, tenantmap.ListOptions{After: after, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, p := range page {
				listed = append(listed, p.ID)
			}
			if next == "" {
				break
			}
			after = next
		}
		if !slices.Equal(listed, ids) || pages != 3 {
			t.Errorf("List: %d pages, %v", pages, listed)
		}

		// Each tenant's tables exist; Drop removes them.
		if err := f.cases.Insert(tctx("t03"), &Case{Title: "x", Ref: "1"}); err != nil {
			t.Fatal(err)
		}
		if err := f.db.Tenants().Drop(ctx, "t03", tenantmap.ConfirmDrop("t03")); err != nil {
			t.Fatal(err)
		}
		if _, err := f.cases.Count(tctx("t03"), tenantmap.Query{}); !errors.Is(err, tenantmap.ErrTenantNotFound) {
			t.Errorf("after drop: want ErrTenantNotFound, got %v", err)
		}
		for _, tbl := range physicalTables(t, f.db) {
			if strings.Contains(tbl, "t03") {
				t.Errorf("table %s survived the drop", tbl)
			}
		}
		// The id can be used again, starting empty.
		mustCreate(t, f.db, "t03")
		if n, err := f.cases.Count(tctx("t03"), tenantmap.Query{}); err != nil || n != 0 {
			t.Errorf("recreated tenant: %d rows, %v", n, err)
		}
	})
}

func TestConformanceRegistry(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b, "acme", "globex")
		reg := f.db.Registry()
		s0 := reg.Stats()
		for range 5 {
			if _, err := f.cases.Count(tctx("acme"), tenantmap.Query{}); err != nil {
				t.Fatal(err)
			}
		}
		s1 := reg.Stats()
		if s1.Builds-s0.Builds != 1 || s1.Hits-s0.Hits != 4 || s1.Size != 1 {
			t.Errorf("5 calls: %+v → %+v, want 1 build, 4 hits", s0, s1)
		}
		_, _ = f.comments.Count(tctx("acme"), tenantmap.Query{})
		_, _ = f.cases.Count(tctx("globex"), tenantmap.Query{})
		if n := reg.InvalidateTenant("acme"); n != 2 {
			t.Errorf("InvalidateTenant dropped %d, want 2", n)
		}
		if n := reg.InvalidateModel("case"); n != 1 {
			t.Errorf("InvalidateModel dropped %d, want 1", n)
		}
		_, _ = f.cases.Count(tctx("acme"), tenantmap.Query{})
		if n := reg.InvalidateAll(); n != 1 {
			t.Errorf("InvalidateAll dropped %d, want 1", n)
		}
		if reg.Stats().Size != 0 {
			t.Error("registry not empty after InvalidateAll")
		}
	})
}

func TestNoTenant(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b, "acme")
		ctx := context.Background()
		checks := map[string]error{
			"get":    func() error { _, err := f.cases.Get(ctx, 1); return err }(),
			"insert": f.cases.Insert(ctx, &Case{Ref: "x"}),
			"find":   func() error { _, err := f.cases.Find(ctx, tenantmap.Query{}); return err }(),
			"count":  func() error { _, err := f.cases.Count(ctx, tenantmap.Query{}); return err }(),
			"exec":   func() error { _, err := f.db.Exec(ctx, "DELETE FROM {case}"); return err }(),
			"tx":     f.db.InTx(ctx, func(context.Context) error { return nil }),
		}
		for name, err := range checks {
			if !errors.Is(err, tenantmap.ErrNoTenant) {
				t.Errorf("%s without tenant: want ErrNoTenant, got %v", name, err)
			}
		}
		// Named explicitly, the same call works.
		if err := f.cases.For("acme").Insert(ctx, &Case{Ref: "x"}); err != nil {
			t.Fatal(err)
		}
		if n, _ := f.cases.Count(tctx("acme"), tenantmap.Query{}); n != 1 {
			t.Errorf("explicit tenant insert landed elsewhere: %d", n)
		}
	})
}

// Device has a caller-set UUID key (a uuid column on PostgreSQL, text on SQLite).
type Device struct {
	ID   string `tm:",pk,type:uuid"`
	Name string
}

func TestConformanceUUIDKey(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db := b.open(t)
		devices, err := tenantmap.Register[Device](db, b.strategy("{tenant}_device"))
		if err != nil {
			t.Fatal(err)
		}
		mustCreate(t, db, "acme")
		ctx := tctx("acme")
		const id = "6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b"
		if err := devices.Insert(ctx, &Device{ID: id, Name: "printer"}); err != nil {
			t.Fatal(err)
		}
		got, err := devices.Get(ctx, id)
		if err != nil || got.ID != id || got.Name != "printer" {
			t.Fatalf("got %+v, %v", got, err)
		}
		many := []*Device{{ID: "00000000-0000-4000-8000-000000000001", Name: "a"}, {ID: "00000000-0000-4000-8000-000000000002", Name: "b"}}
		if err := devices.InsertMany(ctx, many); err != nil {
			t.Fatal(err)
		}
		if n, _ := devices.Count(ctx, tenantmap.Query{}); n != 3 {
			t.Errorf("count %d, want 3", n)
		}
		if !strings.HasPrefix(b.name, "sqlite/") {
			// PostgreSQL checks the value is a UUID; nothing is stored when it is not.
			if err := devices.Insert(ctx, &Device{ID: "not-a-uuid", Name: "x"}); err == nil {
				t.Error("a malformed UUID was stored")
			}
		}
	})
}

// A failed InsertMany stores nothing and hands back no keys.
func TestConformanceInsertManyFailure(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b, "acme")
		ctx := tctx("acme")
		batch := []*Case{{Title: "a", Ref: "same"}, {Title: "b", Ref: "other"}, {Title: "c", Ref: "same"}}
		if err := f.cases.InsertMany(ctx, batch); err == nil {
			t.Fatal("a batch breaking a unique index was stored")
		}
		for i, c := range batch {
			if c.ID != 0 {
				t.Errorf("record %d kept key %d from a failed batch", i, c.ID)
			}
		}
		if n, _ := f.cases.Count(ctx, tenantmap.Query{}); n != 0 {
			t.Errorf("%d rows of a failed batch were stored", n)
		}
	})
}

// A Create that fails part way — here a physical name already taken by a
// table (or schema) that is not the tenant's — leaves no tenant, no table
// and no catalog row behind, and the object in the way untouched.
func TestConformanceCreateFailsCleanly(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b)
		blocker := "CREATE TABLE acme_comment (x INT)"
		switch b.name {
		case "postgres/schema", "pgbouncer/schema":
			blocker = "CREATE SCHEMA acme"
		case "mysql/database":
			blocker = "CREATE DATABASE " + mysqlDBPrefix + "acme"
		}
		if isShared(b) {
			// A table that is not the shared table the model needs, under
			// its name: Create must not adopt it.
			blocker = "CREATE TABLE comment (x INT)"
		}
		switch b.name {
		case "postgres/database", "pgbouncer/database":
			name := ownDBName(f.db, "acme")
			conn, _ := pgAdmin(t)
			_, err := conn.Exec(context.Background(), "CREATE DATABASE "+name)
			conn.Close(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { dropPostgresDatabases(t, name) })
		case "sqlite/database":
			path, _ := sqliteFiles.Load(f.db)
			dir := strings.TrimSuffix(path.(string), ".db") + "_tenants"
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "acme.db"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		default:
			if _, err := tenantmap.AdminExec(context.Background(), f.db, blocker); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := f.db.Tenants().List(context.Background(), tenantmap.ListOptions{}); err != nil {
			t.Fatal(err) // creates the catalog, which is not the tenant's
		}
		before := physicalTables(t, f.db)
		if _, err := f.db.Tenants().Create(context.Background(), "acme"); !errors.Is(err, tenantmap.ErrNameConflict) {
			t.Fatalf("Create over an existing object: want ErrNameConflict, got %v", err)
		}
		if isOwnDB(b) && !ownDatabaseExists(t, f.db, "acme") {
			t.Error("a failed Create dropped the database that was in its way")
		}
		if after := physicalTables(t, f.db); !slices.Equal(before, after) {
			t.Errorf("a failed Create changed the tables:\nbefore %v\nafter  %v", before, after)
		}
		if _, err := f.db.Tenants().Get(context.Background(), "acme"); !errors.Is(err, tenantmap.ErrTenantNotFound) {
			t.Errorf("a failed Create left a catalog row: %v", err)
		}
		if _, err := f.cases.Count(tctx("acme"), tenantmap.Query{}); !errors.Is(err, tenantmap.ErrTenantNotFound) {
			t.Errorf("calls for the failed tenant: want ErrTenantNotFound, got %v", err)
		}
	})
}

// A batch larger than one statement's chunk that fails on its last row
// stores none of it: the chunks run in one transaction.
func TestConformanceInsertManyAcrossChunksIsAtomic(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b, "acme")
		ctx := tctx("acme")
		var batch []*Case
		for i := range 600 {
			batch = append(batch, &Case{Title: "c", Ref: fmt.Sprint(i)})
		}
		batch = append(batch, &Case{Title: "dup", Ref: "0"})
		if err := f.cases.InsertMany(ctx, batch); err == nil {
			t.Fatal("a batch with a duplicate unique ref was stored")
		}
		if n, _ := f.cases.Count(ctx, tenantmap.Query{}); n != 0 {
			t.Errorf("%d rows of a failed batch were stored", n)
		}
		for i, c := range batch {
			if c.ID != 0 {
				t.Fatalf("record %d kept key %d from a failed batch", i, c.ID)
			}
		}
	})
}

// DatabasePerTenant is MySQL/MariaDB's so far; elsewhere Register says so
// rather than make something else.
func TestDatabasePerTenantAvailability(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db := b.open(t)
		if _, err := tenantmap.Register[Device](db, tenantmap.DatabasePerTenant("")); err != nil {
			t.Fatalf("DatabasePerTenant on %s: %v", db.Dialect().Name(), err)
		}
		for _, tmpl := range []string{"tenants", "{tenant}_{tenant}", "{tenant}-db", strings.Repeat("x", 41) + "{tenant}"} {
			if _, err := tenantmap.Register[Case](db, tenantmap.DatabasePerTenant(tmpl), tenantmap.ModelName("c"+randomSuffix())); !errors.Is(err, tenantmap.ErrInvalidModel) {
				t.Errorf("DatabasePerTenant(%q) on %s: want ErrInvalidModel, got %v", tmpl, db.Dialect().Name(), err)
			}
		}
	})
}

// Describe reads the tenant's table back from the database: the model's
// columns in order (and the tenant column of a shared table), which may be
// NULL, and which form the key.
func TestConformanceDescribe(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b, "acme")
		cols, err := f.cases.Describe(tctx("acme"))
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]tenantmap.ColumnInfo{}
		var names []string
		for _, c := range cols {
			byName[c.Name] = c
			if c.Name != tenantmap.TenantColumn {
				names = append(names, c.Name)
			}
			if c.Type == "" {
				t.Errorf("column %s has no type", c.Name)
			}
		}
		if want := f.cases.Model().Columns(); !slices.Equal(names, want) {
			t.Errorf("columns %v, want %v", names, want)
		}
		_, hasTenant := byName[tenantmap.TenantColumn]
		if hasTenant != isShared(b) {
			t.Errorf("tenant column present: %v, want %v", hasTenant, isShared(b))
		}
		if c := byName["id"]; !c.Key || c.Nullable {
			t.Errorf("id: %+v, want a non-NULL key column", c)
		}
		if c := byName["title"]; c.Key || c.Nullable || !strings.Contains(c.Type, "200") && !strings.HasPrefix(b.name, "sqlite/") {
			t.Errorf("title: %+v, want a NOT NULL column of 200 characters", c)
		}
		if c := byName["assignee"]; !c.Nullable {
			t.Errorf("assignee: %+v, want NULL allowed", c)
		}
		// The shared table's key is (tenant, id), but where the database
		// generates keys only for a lone key (SQLite), id alone.
		if c := byName[tenantmap.TenantColumn]; hasTenant && c.Key != !strings.HasPrefix(b.name, "sqlite/") {
			t.Errorf("tenant column: %+v", c)
		}
		if _, err := f.cases.Describe(tctx("nobody")); !errors.Is(err, tenantmap.ErrTenantNotFound) {
			t.Errorf("Describe for an unknown tenant: %v, want ErrTenantNotFound", err)
		}
	})
}
