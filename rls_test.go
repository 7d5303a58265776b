package tenantmap_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tenantmap/tenantmap"
)

// The row-level security tests read and write the shared tables with raw
// SQL that names them physically (note, tag) and carries no {tenant}
// filter, so tenantmap's own filter and its refusal of unfiltered raw SQL
// do not apply: only PostgreSQL's policy keeps the tenants apart. A
// superuser connection to the same database, to which no policy applies,
// tells what is really stored.

// rlsNote is a shared model with a generated key, in table note.
type rlsNote struct {
	ID   int64
	Body string `tm:",index"`
}

// rlsTag is a shared model with a key the caller sets, in table tag.
type rlsTag struct {
	Code  string `tm:",pk"`
	Label string
}

func rlsRegister(t testing.TB, db *tenantmap.DB) (*tenantmap.Table[rlsNote], *tenantmap.Table[rlsTag]) {
	t.Helper()
	notes, err := tenantmap.Register[rlsNote](db, tenantmap.SharedTable(""), tenantmap.ModelName("note"))
	if err != nil {
		t.Fatal(err)
	}
	tags, err := tenantmap.Register[rlsTag](db, tenantmap.SharedTable(""), tenantmap.ModelName("tag"))
	if err != nil {
		t.Fatal(err)
	}
	return notes, tags
}

// rlsFixture is a database owned by rlsRole, opened as that role with
// row-level security, and a superuser connection to it.
type rlsFixture struct {
	url   string // as rlsRole
	db    *tenantmap.DB
	notes *tenantmap.Table[rlsNote]
	tags  *tenantmap.Table[rlsTag]
	admin *pgx.Conn
}

func newRLSFixture(t *testing.T, tenants ...string) *rlsFixture {
	t.Helper()
	f := &rlsFixture{url: rlsDatabaseURL(t)}
	cfg, err := tenantmap.ParseConfig(f.url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RowLevelSecurity = true
	f.db, err = openConfigCreating(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	f.notes, f.tags = rlsRegister(t, f.db)
	mustCreate(t, f.db, tenants...)
	f.admin = rlsAdmin(t, f.url)
	return f
}

// rlsSuperuserURL is the URL of the database rlsURL names, as the test
// server's administrator (a superuser).
func rlsSuperuserURL(t testing.TB, rlsURL string) string {
	t.Helper()
	su, err := url.Parse(postgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	r, err := url.Parse(rlsURL)
	if err != nil {
		t.Fatal(err)
	}
	su.Path = r.Path
	return su.String()
}

// rlsAdmin connects as the superuser to the database rlsURL names.
func rlsAdmin(t testing.TB, rlsURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), rlsSuperuserURL(t, rlsURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	var super bool
	if err := conn.QueryRow(context.Background(), "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil || !super {
		t.Fatalf("the administrator connection is not a superuser (%v, %v): it cannot see every tenant's rows", super, err)
	}
	return conn
}

// stored counts the rows of a physical table per tenant, as the superuser
// sees them.
func (f *rlsFixture) stored(t testing.TB, table string) map[string]int64 {
	t.Helper()
	rows, err := f.admin.Query(context.Background(), "SELECT tenant_id, count(*) FROM "+pgx.Identifier{table}.Sanitize()+" GROUP BY tenant_id")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *rlsFixture) wantStored(t testing.TB, table string, want map[string]int64) {
	t.Helper()
	got := f.stored(t, table)
	for id, n := range want {
		if got[id] != n {
			t.Errorf("%s holds %d rows of %s, want %d (all: %v)", table, got[id], id, n, got)
		}
	}
	for id, n := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("%s holds %d rows of %s, want none", table, n, id)
		}
	}
}

// seedNotes inserts n notes for tenant, with bodies tenant-0, tenant-1, …
func seedNotes(t testing.TB, notes *tenantmap.Table[rlsNote], tenant string, n int) []int64 {
	t.Helper()
	var keys []int64
	for i := range n {
		v := &rlsNote{Body: fmt.Sprintf("%s-%d", tenant, i)}
		if err := notes.Insert(tctx(tenant), v); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, v.ID)
	}
	return keys
}

// rawCount runs a raw query returning one count through the library.
func rawCount(t testing.TB, db *tenantmap.DB, ctx context.Context, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func deref(s *string) string {
	if s == nil {
		return "<NULL>"
	}
	return *s
}

// isPolicyViolation reports PostgreSQL's "new row violates row-level
// security policy" (42501, insufficient_privilege).
func isPolicyViolation(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "42501" && strings.Contains(pg.Message, "row-level security")
}

// TestRLSRawWithoutFilter: raw statements through the library's connections
// that name the shared table physically, with no {tenant} filter, read,
// change and delete only the context's tenant's rows, and cannot write a
// row stamped with another tenant.
func TestRLSRawWithoutFilter(t *testing.T) {
	t.Parallel()
	f := newRLSFixture(t, "alpha", "beta")
	seedNotes(t, f.notes, "alpha", 3)
	seedNotes(t, f.notes, "beta", 2)
	f.wantStored(t, "note", map[string]int64{"alpha": 3, "beta": 2})
	ctxA, ctxB := tctx("alpha"), tctx("beta")

	// The table has the policy, enforced on its owner, which is the role
	// the library connects as.
	var enabled, forced bool
	var owner, policy string
	err := f.admin.QueryRow(context.Background(), `SELECT c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner), p.polname
		FROM pg_class c JOIN pg_policy p ON p.polrelid = c.oid WHERE c.oid = 'public.note'::regclass`).Scan(&enabled, &forced, &owner, &policy)
	if err != nil || !enabled || !forced || owner != rlsRole || policy != tenantmap.RowSecurityPolicy {
		t.Errorf("note: row security %v, forced %v, owner %q, policy %q (%v); want true, true, %q, %q", enabled, forced, owner, policy, err, rlsRole, tenantmap.RowSecurityPolicy)
	}

	for _, tt := range []struct {
		tenant string
		n      int64
	}{{"alpha", 3}, {"beta", 2}} {
		ctx := tctx(tt.tenant)
		for _, q := range []string{
			"SELECT count(*) FROM note",
			`SELECT count(*) FROM "public"."note"`,
			"SELECT count(*) FROM note WHERE tenant_id = tenant_id",
			"SELECT count(*) FROM (SELECT id FROM note UNION ALL SELECT id FROM public.note) u",
		} {
			want := tt.n
			if strings.Contains(q, "UNION") {
				want *= 2
			}
			if got := rawCount(t, f.db, ctx, q); got != want {
				t.Errorf("%s: %q = %d, want %d", tt.tenant, q, got, want)
			}
		}
		if got := rawCount(t, f.db, ctx, "SELECT count(*) FROM note n1 CROSS JOIN note n2"); got != tt.n*tt.n {
			t.Errorf("%s: self join counts %d pairs, want %d", tt.tenant, got, tt.n*tt.n)
		}
		if got := rawStrings(t, f.db, ctx, "SELECT DISTINCT tenant_id FROM note"); !slices.Equal(got, []string{tt.tenant}) {
			t.Errorf("%s: tenants in note = %q, want only its own", tt.tenant, got)
		}
		for _, body := range rawStrings(t, f.db, ctx, "SELECT body FROM note ORDER BY id") {
			if !strings.HasPrefix(body, tt.tenant+"-") {
				t.Errorf("%s read %q", tt.tenant, body)
			}
		}
	}

	// Writes stamped with another tenant are refused by the policy's WITH
	// CHECK; the same statement stamped with the context's tenant works.
	if _, err := f.db.Exec(ctxA, "INSERT INTO note (body, tenant_id) VALUES (?, ?)", "forged", "beta"); !isPolicyViolation(err) {
		t.Errorf("alpha inserting a row stamped beta: %v; want the policy's refusal", err)
	}
	if n, err := f.db.Exec(ctxA, "INSERT INTO note (body, tenant_id) VALUES (?, ?)", "alpha-raw", "alpha"); err != nil || n != 1 {
		t.Fatalf("alpha inserting a row stamped alpha: %d, %v", n, err)
	}
	if _, err := f.db.Exec(ctxA, "UPDATE note SET tenant_id = ?", "beta"); !isPolicyViolation(err) {
		t.Errorf("alpha moving its rows to beta: %v; want the policy's refusal", err)
	}
	if _, err := f.db.Exec(ctxA, "INSERT INTO note (body, tenant_id) SELECT body, ? FROM note", "beta"); !isPolicyViolation(err) {
		t.Errorf("alpha copying its rows to beta: %v; want the policy's refusal", err)
	}
	f.wantStored(t, "note", map[string]int64{"alpha": 4, "beta": 2})

	// UPDATE and DELETE without a filter reach the context's tenant's rows only.
	if n, err := f.db.Exec(ctxB, "UPDATE note SET body = body || ?", "!"); err != nil || n != 2 {
		t.Errorf("beta's unfiltered update = %d, %v; want 2 rows", n, err)
	}
	var touched int64
	if err := f.admin.QueryRow(context.Background(), "SELECT count(*) FROM note WHERE tenant_id = 'alpha' AND body LIKE '%!'").Scan(&touched); err != nil || touched != 0 {
		t.Errorf("beta's update changed %d of alpha's rows (%v)", touched, err)
	}
	if n, err := f.db.Exec(ctxA, "DELETE FROM note"); err != nil || n != 4 {
		t.Errorf("alpha's unfiltered delete = %d, %v; want 4 rows", n, err)
	}
	f.wantStored(t, "note", map[string]int64{"beta": 2})
	if got := rawCount(t, f.db, ctxB, "SELECT count(*) FROM note WHERE body LIKE ?", "%!"); got != 2 {
		t.Errorf("beta sees %d of its updated rows, want 2", got)
	}
}

// TestRLSInTx: inside InTx the tenant holds for every statement of the
// transaction, not only the first, and a transaction's writes stamped
// with another tenant are refused.
func TestRLSInTx(t *testing.T) {
	t.Parallel()
	f := newRLSFixture(t, "alpha", "beta")
	seedNotes(t, f.notes, "alpha", 3)
	seedNotes(t, f.notes, "beta", 2)
	ctxA, ctxB := tctx("alpha"), tctx("beta")

	// The first statement of the transaction reads the catalog (a registry
	// miss), the rest are raw and table calls.
	f.db.Registry().InvalidateAll()
	err := f.db.InTx(ctxA, func(ctx context.Context) error {
		if n, err := f.notes.Count(ctx, tenantmap.Query{}); err != nil || n != 3 {
			t.Errorf("Count in alpha's transaction = %d, %v; want 3", n, err)
		}
		for i := range 3 {
			if got := rawCount(t, f.db, ctx, "SELECT count(*) FROM note"); got != int64(3+i) {
				t.Errorf("statement %d of alpha's transaction counts %d rows, want %d", i+2, got, 3+i)
			}
			if err := f.notes.Insert(ctx, &rlsNote{Body: fmt.Sprintf("alpha-tx-%d", i)}); err != nil {
				return err
			}
		}
		if n, err := f.db.Exec(ctx, "UPDATE note SET body = body || '+'"); err != nil || n != 6 {
			t.Errorf("unfiltered update in alpha's transaction = %d, %v; want 6", n, err)
		}
		if got := rawStrings(t, f.db, ctx, "SELECT DISTINCT tenant_id FROM note"); !slices.Equal(got, []string{"alpha"}) {
			t.Errorf("tenants seen late in alpha's transaction = %q", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.wantStored(t, "note", map[string]int64{"alpha": 6, "beta": 2})

	// A raw statement first, then a table call, in beta's transaction,
	// rolled back: beta's rows are as they were, alpha's untouched.
	errRollback := errors.New("roll back")
	err = f.db.InTx(ctxB, func(ctx context.Context) error {
		if n, err := f.db.Exec(ctx, "DELETE FROM note"); err != nil || n != 2 {
			t.Errorf("unfiltered delete in beta's transaction = %d, %v; want 2", n, err)
		}
		if got, err := f.notes.Find(ctx, tenantmap.Query{}); err != nil || len(got) != 0 {
			t.Errorf("Find after the delete in beta's transaction = %v, %v; want none", got, err)
		}
		if got := rawCount(t, f.db, ctx, "SELECT count(*) FROM note"); got != 0 {
			t.Errorf("beta's transaction counts %d rows after deleting its own, want 0", got)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx = %v, want the rollback error", err)
	}
	f.wantStored(t, "note", map[string]int64{"alpha": 6, "beta": 2})

	// Late in a transaction, a row stamped with another tenant is refused.
	err = f.db.InTx(ctxA, func(ctx context.Context) error {
		if got := rawCount(t, f.db, ctx, "SELECT count(*) FROM note"); got != 6 {
			t.Errorf("alpha counts %d, want 6", got)
		}
		_, err := f.db.Exec(ctx, "INSERT INTO note (body, tenant_id) VALUES (?, ?)", "forged", "beta")
		return err
	})
	if !isPolicyViolation(err) {
		t.Errorf("a row stamped beta inserted in alpha's transaction: %v; want the policy's refusal", err)
	}
	f.wantStored(t, "note", map[string]int64{"alpha": 6, "beta": 2})
}

// TestRLSInsertMany: InsertMany under row-level security (where PostgreSQL
// refuses COPY) stores every row for the context's tenant, in one
// statement, across many statements in a transaction of its own, and in
// the caller's transaction; for generated and caller-set keys.
func TestRLSInsertMany(t *testing.T) {
	t.Parallel()
	f := newRLSFixture(t, "alpha", "beta")
	ctxA, ctxB := tctx("alpha"), tctx("beta")
	notesOf := func(tenant string, n int) []*rlsNote {
		vs := make([]*rlsNote, n)
		for i := range vs {
			vs[i] = &rlsNote{Body: fmt.Sprintf("%s-%d", tenant, i)}
		}
		return vs
	}
	tagsOf := func(tenant string, n int) []*rlsTag {
		vs := make([]*rlsTag, n)
		for i := range vs {
			vs[i] = &rlsTag{Code: fmt.Sprintf("c%04d", i), Label: tenant}
		}
		return vs
	}
	many, few := notesOf("alpha", 1234), notesOf("beta", 7)
	if err := f.notes.InsertMany(ctxA, many); err != nil {
		t.Fatalf("InsertMany of %d notes for alpha: %v", len(many), err)
	}
	if err := f.notes.InsertMany(ctxB, few); err != nil {
		t.Fatalf("InsertMany of %d notes for beta: %v", len(few), err)
	}
	inTx := notesOf("alpha", 600)
	err := f.db.InTx(ctxA, func(ctx context.Context) error {
		if err := f.notes.InsertMany(ctx, inTx); err != nil {
			return err
		}
		if got := rawCount(t, f.db, ctx, "SELECT count(*) FROM note"); got != 1834 {
			t.Errorf("alpha's transaction counts %d notes after InsertMany, want 1834", got)
		}
		return f.tags.InsertMany(ctx, tagsOf("alpha", 501))
	})
	if err != nil {
		t.Fatal(err)
	}
	// The same caller-set keys for another tenant: unique within a tenant only.
	if err := f.tags.InsertMany(ctxB, tagsOf("beta", 501)); err != nil {
		t.Fatalf("InsertMany of beta's tags with alpha's codes: %v", err)
	}

	f.wantStored(t, "note", map[string]int64{"alpha": 1834, "beta": 7})
	f.wantStored(t, "tag", map[string]int64{"alpha": 501, "beta": 501})
	var mislabeled int64
	if err := f.admin.QueryRow(context.Background(), "SELECT count(*) FROM tag WHERE label <> tenant_id").Scan(&mislabeled); err != nil || mislabeled != 0 {
		t.Errorf("%d tags stored for a tenant other than their own (%v)", mislabeled, err)
	}
	// Every key written back names a row of the right tenant with the
	// record's body.
	for tenant, vs := range map[string][]*rlsNote{"alpha": slices.Concat(many, inTx), "beta": few} {
		ids, bodies := make([]int64, len(vs)), make([]string, len(vs))
		for i, v := range vs {
			ids[i], bodies[i] = v.ID, v.Body
		}
		var matched int64
		err := f.admin.QueryRow(context.Background(), `SELECT count(*) FROM note n JOIN unnest($1::bigint[], $2::text[]) AS w(id, body)
			ON n.id = w.id AND n.body = w.body WHERE n.tenant_id = $3`, ids, bodies, tenant).Scan(&matched)
		if err != nil || matched != int64(len(vs)) {
			t.Errorf("%s: %d of %d keys written back name its row (%v)", tenant, matched, len(vs), err)
		}
	}
	if got := rawCount(t, f.db, ctxB, "SELECT count(*) FROM tag"); got != 501 {
		t.Errorf("beta counts %d tags, want 501", got)
	}
}

// TestRLSNoSettingLeftOnPool: after every kind of call, committed, rolled
// back, failed or abandoned early, the one connection of a pool the caller
// owns holds no tenant: the setting is empty and the policy hides every
// row from a statement sent straight to the pool.
func TestRLSNoSettingLeftOnPool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := rlsDatabaseURL(t)
	pc, err := pgxpool.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	pc.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Close waits for every connection to come back.
		closed := make(chan struct{})
		go func() {
			pool.Close()
			close(closed)
		}()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Errorf("the pool cannot close: the library never gave its connection back")
		}
	})
	db, err := openPoolCreating(ctx, pool, &tenantmap.Config{RowLevelSecurity: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	notes, tags := rlsRegister(t, db)
	mustCreate(t, db, "alpha", "beta")
	keysA := seedNotes(t, notes, "alpha", 3)
	keysB := seedNotes(t, notes, "beta", 2)
	if err := tags.Insert(tctx("alpha"), &rlsTag{Code: "red", Label: "alpha"}); err != nil {
		t.Fatal(err)
	}
	admin := rlsAdmin(t, u)
	var stored int64
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM note").Scan(&stored); err != nil || stored != 5 {
		t.Fatalf("note holds %d rows (%v), want 5", stored, err)
	}

	var pid0 uint32
	if err := pool.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid0); err != nil {
		t.Fatal(err)
	}
	held := false
	// check looks at the pool's one connection; if the library still held
	// it, the check would wait, so it gives up after a while.
	check := func(t *testing.T) {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var pid uint32
		var setting *string
		var visible int64
		err := pool.QueryRow(cctx, "SELECT pg_backend_pid(), current_setting('"+tenantmap.RowSecuritySetting+"', true), (SELECT count(*) FROM note)").Scan(&pid, &setting, &visible)
		if err != nil {
			held = true
			t.Fatalf("querying the pool after the call (is the connection still held?): %v", err)
		}
		if pid != pid0 {
			t.Fatalf("the pool's connection was replaced (backend %d, was %d): what the old one kept cannot be checked", pid, pid0)
		}
		if setting != nil && *setting != "" {
			t.Errorf("the pooled connection keeps %s = %q", tenantmap.RowSecuritySetting, *setting)
		}
		if visible != 0 {
			t.Errorf("a statement straight on the pool sees %d rows of note, want 0", visible)
		}
	}
	check(t)

	// Each step's calls get a deadline: a connection the library failed
	// to give back would make the next call wait for ever.
	var stepCtx, ctxA context.Context
	errRollback := errors.New("roll back")
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"Get", func(t *testing.T) {
			if v, err := notes.Get(ctxA, keysA[0]); err != nil || v.Body != "alpha-0" {
				t.Errorf("Get = %+v, %v", v, err)
			}
		}},
		{"Get of another tenant's key", func(t *testing.T) {
			if _, err := notes.Get(ctxA, keysB[0]); !errors.Is(err, tenantmap.ErrNotFound) {
				t.Errorf("Get(beta's key) = %v, want ErrNotFound", err)
			}
		}},
		{"Insert", func(t *testing.T) {
			v := &rlsNote{Body: "alpha-3"}
			if err := notes.Insert(ctxA, v); err != nil || v.ID == 0 {
				t.Errorf("Insert = %v, key %d", err, v.ID)
			}
		}},
		{"Insert of a duplicate key", func(t *testing.T) {
			if err := tags.Insert(ctxA, &rlsTag{Code: "red", Label: "again"}); err == nil {
				t.Errorf("a duplicate key was inserted")
			}
		}},
		{"Update", func(t *testing.T) {
			if err := notes.Update(ctxA, &rlsNote{ID: keysA[0], Body: "alpha-0"}); err != nil {
				t.Error(err)
			}
		}},
		{"UpdateColumns of another tenant's key", func(t *testing.T) {
			if err := notes.UpdateColumns(ctxA, &rlsNote{ID: keysB[0], Body: "x"}, "body"); !errors.Is(err, tenantmap.ErrNotFound) {
				t.Errorf("UpdateColumns(beta's key) = %v, want ErrNotFound", err)
			}
		}},
		{"Find", func(t *testing.T) {
			if got, err := notes.Find(ctxA, tenantmap.OrderBy("id")); err != nil || len(got) != 4 {
				t.Errorf("Find = %d rows, %v; want 4", len(got), err)
			}
		}},
		{"Find with a bad filter", func(t *testing.T) {
			if _, err := notes.Find(ctxA, tenantmap.Where("nosuch = ?", 1)); err == nil {
				t.Errorf("a filter on a missing column succeeded")
			}
		}},
		{"All stopped early", func(t *testing.T) {
			for v, err := range notes.All(ctxA, tenantmap.OrderBy("id")) {
				if err != nil || v.Body != "alpha-0" {
					t.Errorf("first of All = %+v, %v", v, err)
				}
				break
			}
		}},
		{"First, Count, Exists", func(t *testing.T) {
			if v, err := notes.First(ctxA, tenantmap.OrderBy("id")); err != nil || v.ID != keysA[0] {
				t.Errorf("First = %+v, %v", v, err)
			}
			if n, err := notes.Count(ctxA, tenantmap.Query{}); err != nil || n != 4 {
				t.Errorf("Count = %d, %v; want 4", n, err)
			}
			if ok, err := notes.Exists(ctxA, tenantmap.Where("body = ?", "beta-0")); err != nil || ok {
				t.Errorf("Exists(beta's body) = %v, %v; want false", ok, err)
			}
		}},
		{"raw Query read to the end", func(t *testing.T) {
			if got := rawStrings(t, db, ctxA, "SELECT body FROM note ORDER BY id"); len(got) != 4 {
				t.Errorf("read %q, want alpha's 4 rows", got)
			}
		}},
		{"raw Query closed early", func(t *testing.T) {
			rows, err := db.Query(ctxA, "SELECT body FROM note, generate_series(1, 1000)")
			if err != nil {
				t.Fatal(err)
			}
			if !rows.Next() {
				t.Errorf("no row: %v", rows.Err())
			}
			rows.Close()
		}},
		{"raw Query failing after its first rows", func(t *testing.T) {
			rows, err := db.Query(ctxA, "SELECT 1 / (3 - g) FROM note, generate_series(1, 5) g")
			if err == nil {
				for rows.Next() {
				}
				err = rows.Err()
				rows.Close()
			}
			if err == nil {
				t.Errorf("a division by zero did not fail")
			}
		}},
		{"raw QueryRow and Exec", func(t *testing.T) {
			if got := rawCount(t, db, ctxA, "SELECT count(*) FROM note"); got != 4 {
				t.Errorf("raw count = %d, want 4", got)
			}
			if n, err := db.Exec(ctxA, "UPDATE note SET body = body"); err != nil || n != 4 {
				t.Errorf("raw update = %d, %v; want 4", n, err)
			}
		}},
		{"raw statements failing", func(t *testing.T) {
			if _, err := db.Exec(ctxA, "SELECT nosuch FROM note"); err == nil {
				t.Errorf("a missing column did not fail")
			}
			if _, err := db.Exec(ctxA, "INSERT INTO note (body, tenant_id) VALUES ('x', 'beta')"); !isPolicyViolation(err) {
				t.Errorf("a row stamped beta: %v; want the policy's refusal", err)
			}
			var n int64
			if err := db.QueryRow(ctxA, "SELECT count(*) FROM note WHERE body = ?", "nosuch").Scan(&n); err != nil || n != 0 {
				t.Errorf("count of nothing = %d, %v", n, err)
			}
			if err := db.QueryRow(ctxA, "SELECT id FROM note WHERE body = ?", "beta-0").Scan(&n); !errors.Is(err, tenantmap.ErrNotFound) {
				t.Errorf("QueryRow of beta's row = %v, want ErrNotFound", err)
			}
		}},
		{"InTx committed", func(t *testing.T) {
			err := db.InTx(ctxA, func(ctx context.Context) error {
				if got := rawCount(t, db, ctx, "SELECT count(*) FROM note"); got != 4 {
					t.Errorf("count in the transaction = %d, want 4", got)
				}
				return notes.Insert(ctx, &rlsNote{Body: "alpha-4"})
			})
			if err != nil {
				t.Error(err)
			}
		}},
		{"InTx rolled back", func(t *testing.T) {
			err := db.InTx(ctxA, func(ctx context.Context) error {
				if _, err := db.Exec(ctx, "DELETE FROM note"); err != nil {
					return err
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Errorf("InTx = %v", err)
			}
		}},
		{"InTx with a failing statement", func(t *testing.T) {
			err := db.InTx(ctxA, func(ctx context.Context) error {
				if _, err := notes.Get(ctx, keysA[1]); err != nil {
					return err
				}
				_, err := db.Exec(ctx, "INSERT INTO note (body, tenant_id) VALUES ('x', 'beta')")
				return err
			})
			if !isPolicyViolation(err) {
				t.Errorf("InTx = %v, want the policy's refusal", err)
			}
		}},
		{"InTx panicking", func(t *testing.T) {
			defer func() {
				if p := recover(); p != "boom" {
					t.Errorf("recovered %v, want the panic", p)
				}
			}()
			_ = db.InTx(ctxA, func(ctx context.Context) error {
				if _, err := db.Exec(ctx, "UPDATE note SET body = 'panicked'"); err != nil {
					return err
				}
				panic("boom")
			})
		}},
		{"InsertMany in one statement", func(t *testing.T) {
			if err := notes.InsertMany(ctxA, []*rlsNote{{Body: "m1"}, {Body: "m2"}}); err != nil {
				t.Error(err)
			}
		}},
		{"InsertMany in a transaction of its own", func(t *testing.T) {
			vs := make([]*rlsTag, 1200)
			for i := range vs {
				vs[i] = &rlsTag{Code: fmt.Sprintf("t%d", i), Label: "alpha"}
			}
			if err := tags.InsertMany(ctxA, vs); err != nil {
				t.Error(err)
			}
		}},
		{"InsertMany failing in its last chunk", func(t *testing.T) {
			vs := make([]*rlsTag, 1200)
			for i := range vs {
				vs[i] = &rlsTag{Code: fmt.Sprintf("u%d", i), Label: "alpha"}
			}
			vs[1199].Code = "u0"
			if err := tags.InsertMany(ctxA, vs); err == nil {
				t.Errorf("a duplicate key was inserted")
			}
		}},
		{"Create and Drop", func(t *testing.T) {
			if _, err := db.Tenants().Create(stepCtx, "gamma"); err != nil {
				t.Fatal(err)
			}
			if err := notes.InsertMany(tenantmap.WithTenant(stepCtx, "gamma"), []*rlsNote{{Body: "gamma-0"}, {Body: "gamma-1"}}); err != nil {
				t.Fatal(err)
			}
			if err := db.Tenants().Drop(stepCtx, "gamma", tenantmap.ConfirmDrop("gamma")); err != nil {
				t.Error(err)
			}
		}},
		{"beta after alpha", func(t *testing.T) {
			if got := rawCount(t, db, tenantmap.WithTenant(stepCtx, "beta"), "SELECT count(*) FROM note"); got != 2 {
				t.Errorf("beta counts %d notes, want its 2", got)
			}
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			var cancel context.CancelFunc
			stepCtx, cancel = context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			ctxA = tenantmap.WithTenant(stepCtx, "alpha")
			st.run(t)
			check(t)
		})
		if held {
			t.Fatalf("the pool's connection was not given back after %q; the other steps would wait for it", st.name)
		}
	}
	// What the steps committed is alpha's; beta's rows are as seeded.
	var alpha, beta, gamma int64
	if err := admin.QueryRow(ctx, "SELECT count(*) FILTER (WHERE tenant_id = 'alpha'), count(*) FILTER (WHERE tenant_id = 'beta'), count(*) FILTER (WHERE tenant_id = 'gamma') FROM note").Scan(&alpha, &beta, &gamma); err != nil {
		t.Fatal(err)
	}
	if alpha != 7 || beta != 2 || gamma != 0 {
		t.Errorf("note holds alpha %d, beta %d, gamma %d; want 7, 2, 0", alpha, beta, gamma)
	}
}

// TestRLSQueryExecModes: the tenant setting and the statement share one
// implicit transaction whatever protocol the caller's pool speaks, so
// unfiltered raw statements see the tenant's rows, and the setting is
// gone after them.
func TestRLSQueryExecModes(t *testing.T) {
	t.Parallel()
	f := newRLSFixture(t, "alpha", "beta")
	seedNotes(t, f.notes, "alpha", 3)
	seedNotes(t, f.notes, "beta", 2)
	modes := []pgx.QueryExecMode{
		pgx.QueryExecModeCacheStatement, pgx.QueryExecModeCacheDescribe, pgx.QueryExecModeDescribeExec,
		pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol,
	}
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			pc, err := pgxpool.ParseConfig(f.url)
			if err != nil {
				t.Fatal(err)
			}
			pc.MaxConns = 1
			pc.ConnConfig.DefaultQueryExecMode = mode
			pool, err := pgxpool.NewWithConfig(ctx, pc)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			db, err := openPoolCreating(ctx, pool, &tenantmap.Config{RowLevelSecurity: true})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			notes, _ := rlsRegister(t, db)
			for tenant, want := range map[string]int64{"alpha": 3, "beta": 2} {
				tc := tenantmap.WithTenant(ctx, tenant)
				if got := rawCount(t, db, tc, "SELECT count(*) FROM note WHERE body LIKE ?", "%"); got != want {
					t.Errorf("%s counts %d notes, want %d", tenant, got, want)
				}
				err := db.InTx(tc, func(ctx context.Context) error {
					for range 2 {
						if got := rawCount(t, db, ctx, "SELECT count(*) FROM note"); got != want {
							t.Errorf("%s counts %d notes in a transaction, want %d", tenant, got, want)
						}
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
				if got, err := notes.Find(tc, tenantmap.Query{}); err != nil || int64(len(got)) != want {
					t.Errorf("%s finds %d notes, %v; want %d", tenant, len(got), err, want)
				}
			}
			var setting *string
			var visible int64
			if err := pool.QueryRow(ctx, "SELECT current_setting('"+tenantmap.RowSecuritySetting+"', true), (SELECT count(*) FROM note)").Scan(&setting, &visible); err != nil {
				t.Fatal(err)
			}
			if setting != nil && *setting != "" || visible != 0 {
				t.Errorf("the pooled connection keeps %s = %q and shows %d notes; want none, 0", tenantmap.RowSecuritySetting, deref(setting), visible)
			}
		})
	}
}

// TestRLSOpenRefused: row-level security that would not apply is refused
// at Open with ErrRowSecurity: for a superuser, for a BYPASSRLS role, and
// on SQLite and MariaDB. The same roles open without it, and the
// application role opens with it, so the refusal is the check's.
func TestRLSOpenRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	open := func(t *testing.T, u string, rls bool) error {
		t.Helper()
		cfg, err := tenantmap.ParseConfig(u)
		if err != nil {
			t.Fatal(err)
		}
		cfg.RowLevelSecurity = rls
		db, err := openConfigCreating(ctx, cfg)
		if err == nil {
			db.Close()
		}
		return err
	}
	wantRefused := func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, tenantmap.ErrRowSecurity) {
			t.Errorf("Open with RowLevelSecurity = %v, want ErrRowSecurity", err)
		}
	}

	// Each case has a database of its own: opening makes the catalog,
	// owned by the role that opened.
	t.Run("superuser", func(t *testing.T) {
		su := rlsSuperuserURL(t, rlsDatabaseURL(t))
		wantRefused(t, open(t, su, true))
		if err := open(t, su, false); err != nil {
			t.Errorf("the superuser without RowLevelSecurity: %v", err)
		}
		pool, err := pgxpool.New(ctx, su)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		_, err = openPoolCreating(ctx, pool, &tenantmap.Config{RowLevelSecurity: true})
		wantRefused(t, err)
	})
	t.Run("BYPASSRLS role", func(t *testing.T) {
		const bypass = "tenantmap_bypass"
		rlsURL := rlsDatabaseURL(t)
		admin := rlsAdmin(t, rlsURL)
		// Roles are cluster-wide: made once, tolerating another test doing
		// the same, and given the attributes this test needs if it lacks them.
		_, err := admin.Exec(ctx, `DO $$ BEGIN
			CREATE ROLE `+bypass+` LOGIN NOSUPERUSER BYPASSRLS NOCREATEDB;
			EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
		END $$`)
		if err != nil {
			t.Fatal(err)
		}
		var fit bool
		if err := admin.QueryRow(ctx, "SELECT rolcanlogin AND rolbypassrls AND NOT rolsuper FROM pg_roles WHERE rolname = $1", bypass).Scan(&fit); err != nil {
			t.Fatal(err)
		}
		if !fit {
			if _, err := admin.Exec(ctx, "ALTER ROLE "+bypass+" LOGIN NOSUPERUSER BYPASSRLS"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := admin.Exec(ctx, "GRANT CREATE ON SCHEMA public TO "+bypass); err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(rlsURL)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.User(bypass)
		wantRefused(t, open(t, u.String(), true))
		if err := open(t, u.String(), false); err != nil {
			t.Errorf("%s without RowLevelSecurity: %v", bypass, err)
		}
	})
	t.Run("application role", func(t *testing.T) {
		if err := open(t, rlsDatabaseURL(t), true); err != nil {
			t.Errorf("%s with RowLevelSecurity: %v", rlsRole, err)
		}
	})
	t.Run("sqlite", func(t *testing.T) {
		wantRefused(t, open(t, "sqlite:"+filepath.Join(t.TempDir(), "rls.db"), true))
	})
	t.Run("mysql", func(t *testing.T) {
		wantRefused(t, open(t, newMySQLDatabase(t), true))
	})
}

// TestRLSDrop: dropping a tenant under row-level security deletes exactly
// its rows from every shared table and leaves the tables and the other
// tenants' rows; the id can be created again, empty.
func TestRLSDrop(t *testing.T) {
	t.Parallel()
	f := newRLSFixture(t, "alpha", "beta", "gamma")
	for i, tenant := range []string{"alpha", "beta", "gamma"} {
		seedNotes(t, f.notes, tenant, 2+i)
		for j := range 3 {
			if err := f.tags.Insert(tctx(tenant), &rlsTag{Code: fmt.Sprint(j), Label: tenant}); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.wantStored(t, "note", map[string]int64{"alpha": 2, "beta": 3, "gamma": 4})
	if err := f.db.Tenants().Drop(context.Background(), "beta", tenantmap.ConfirmDrop("beta")); err != nil {
		t.Fatal(err)
	}
	f.wantStored(t, "note", map[string]int64{"alpha": 2, "gamma": 4})
	f.wantStored(t, "tag", map[string]int64{"alpha": 3, "gamma": 3})
	if _, err := f.db.Tenants().Get(context.Background(), "beta"); !errors.Is(err, tenantmap.ErrTenantNotFound) {
		t.Errorf("Get(beta) after Drop = %v, want ErrTenantNotFound", err)
	}
	mustCreate(t, f.db, "beta")
	if got := rawCount(t, f.db, tctx("beta"), "SELECT count(*) FROM note"); got != 0 {
		t.Errorf("beta created again sees %d notes, want 0", got)
	}
	if got := rawCount(t, f.db, tctx("alpha"), "SELECT count(*) FROM note"); got != 2 {
		t.Errorf("alpha sees %d notes, want 2", got)
	}
}

// TestRLSTableMadeWithoutPolicy: a deployment that turns RowLevelSecurity
// on after its shared tables were made gets the policy on them when it
// opens, before any tenant is created: a raw statement without a filter
// then reads only the context's tenant's rows.
func TestRLSTableMadeWithoutPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := rlsDatabaseURL(t)
	cfg, err := tenantmap.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	before, err := openConfigCreating(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { before.Close() })
	notes, _ := rlsRegister(t, before)
	mustCreate(t, before, "alpha", "beta")
	seedNotes(t, notes, "alpha", 3)
	seedNotes(t, notes, "beta", 2)
	before.Close()

	cfg.RowLevelSecurity = true
	db, err := openConfigCreating(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var enabled, forced bool
	admin := rlsAdmin(t, u)
	if err := admin.QueryRow(ctx, "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'public.note'::regclass").Scan(&enabled, &forced); err != nil || !enabled || !forced {
		t.Errorf("after Open with RowLevelSecurity, note has row security %v, forced %v (%v); want both", enabled, forced, err)
	}
	notes, _ = rlsRegister(t, db)
	if n, err := notes.Count(tctx("alpha"), tenantmap.Query{}); err != nil || n != 3 {
		t.Fatalf("alpha's Count = %d, %v; want 3", n, err)
	}
	if got := rawCount(t, db, tctx("alpha"), "SELECT count(*) FROM note"); got != 3 {
		t.Errorf("with RowLevelSecurity on, alpha's unfiltered raw count = %d, want its 3 rows", got)
	}
}

// rlsBouncerPoolSize is the number of server sessions the PgBouncer that
// rlsBouncerURL starts keeps per database and user.
const rlsBouncerPoolSize = 4

// rlsBouncerURL returns the URL of a PgBouncer in transaction pooling mode
// whose server sessions log in to the database rlsURL names as rlsRole.
// The one TENANTMAP_PGBOUNCER_URL names is used if it does; the one
// .ci/pgbouncer.ini configures logs every client in as postgres, a
// superuser to whom no policy applies, so then the test runs its own.
func rlsBouncerURL(t *testing.T, rlsURL string) (u string, ours bool) {
	t.Helper()
	bouncer := serverURL(t, envPgBouncer, defaultPgBouncer)
	r, err := url.Parse(rlsURL)
	if err != nil {
		t.Fatal(err)
	}
	b, err := url.Parse(bouncer)
	if err != nil {
		t.Fatalf("%s: %v", envPgBouncer, err)
	}
	b.Path, b.User = r.Path, url.User(rlsRole)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, b.String())
	if err != nil {
		t.Fatalf("PgBouncer is unreachable at %s: %v\n"+
			"Start it (.ci/run does, from .ci/pgbouncer.ini), point %s at one, or set %s=skip to skip these tests.",
			bouncer, err, envPgBouncer, envPgBouncer)
	}
	var who string
	err = conn.QueryRow(ctx, "SELECT current_user").Scan(&who)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if who == rlsRole {
		return b.String(), false
	}
	t.Logf("the PgBouncer at %s logs in as %s, not %s: running one of our own", bouncer, who, rlsRole)
	return startPgBouncer(t, r), true
}

// startPgBouncer runs a PgBouncer of the test's own, in transaction pooling
// mode, in front of the server r names, logging in as rlsRole; it stops
// when the test ends.
func startPgBouncer(t *testing.T, r *url.URL) string {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		bin = "/usr/sbin/pgbouncer"
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("the PgBouncer at %s logs in as another user, and no pgbouncer binary is installed to run one that logs in as %s.\n"+
				"Install PgBouncer (.ci/run does), or set %s=skip to skip these tests.", envPgBouncer, rlsRole, envPgBouncer)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", "tenantmap-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // PgBouncer may run as another user, below
		t.Fatal(err)
	}
	host, pgPort := r.Hostname(), r.Port()
	if pgPort == "" {
		pgPort = "5432"
	}
	server := "host=" + host + " port=" + pgPort + " user=" + rlsRole
	if pw := r.Query().Get("password"); pw != "" {
		server += " password=" + pw
	}
	ini := filepath.Join(dir, "pgbouncer.ini")
	err = os.WriteFile(ini, []byte(`[databases]
* = `+server+`

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = `+strconv.Itoa(port)+`
unix_socket_dir =
auth_type = any
pool_mode = transaction
max_client_conn = 200
default_pool_size = `+strconv.Itoa(rlsBouncerPoolSize)+`
ignore_startup_parameters = extra_float_digits,plan_cache_mode
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, ini)
	if os.Geteuid() == 0 {
		// PgBouncer refuses to run as root: run it as postgres, with
		// setpriv, which becomes the program (so killing it kills PgBouncer).
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Fatalf("PgBouncer refuses to run as root, and setpriv is not installed to run it as postgres: %v", err)
		}
		cmd = exec.Command(setpriv, "--reuid=postgres", "--regid=postgres", "--clear-groups", bin, ini)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	u := fmt.Sprintf("postgres://%s@127.0.0.1:%d%s?sslmode=disable", rlsRole, port, r.Path)
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, u)
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return u
		}
		select {
		case <-exited:
			t.Fatalf("PgBouncer exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("PgBouncer does not answer on port %d: %v", port, err)
		}
		time.Sleep(50 * time.Millisecond) // waiting for it to listen
	}
}

// TestRLSPgBouncer: behind PgBouncer in transaction pooling mode, where
// consecutive statements of one client run on different server sessions
// that both tenants share, each tenant's unfiltered raw statements see only
// its own rows, its writes are stored as its own, and no server session
// keeps a tenant.
func TestRLSPgBouncer(t *testing.T) {
	t.Parallel()
	rlsURL := rlsDatabaseURL(t)
	u, ours := rlsBouncerURL(t, rlsURL)
	cfg, err := tenantmap.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TransactionPooler, cfg.RowLevelSecurity, cfg.MaxConns = true, true, 16
	db, err := openConfigCreating(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	notes, tags := rlsRegister(t, db)
	mustCreate(t, db, "alpha", "beta")
	want := map[string]int64{"alpha": 30, "beta": 70}
	for tenant, n := range want {
		vs := make([]*rlsNote, n)
		for i := range vs {
			vs[i] = &rlsNote{Body: tenant}
		}
		if err := notes.InsertMany(tctx(tenant), vs); err != nil {
			t.Fatal(err)
		}
	}

	const goroutines, rounds = 24, 30
	var (
		mu       sync.Mutex
		failures []string
		sessions = map[string]map[uint32]bool{"alpha": {}, "beta": {}}
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	var wg sync.WaitGroup
	for g := range goroutines {
		tenant := []string{"alpha", "beta"}[g%2]
		wg.Go(func() {
			ctx := tctx(tenant)
			count := func(ctx context.Context) (n, others int64, pid uint32, err error) {
				err = db.QueryRow(ctx,
					"SELECT count(*), count(*) FILTER (WHERE tenant_id <> ? OR body <> ?), pg_backend_pid() FROM note", tenant, tenant).Scan(&n, &others, &pid)
				return n, others, pid, err
			}
			for i := range rounds {
				n, others, pid, err := count(ctx)
				if err != nil {
					fail("%s: %v", tenant, err)
					return
				}
				if n != want[tenant] || others != 0 {
					fail("%s counts %d notes, %d not its own, on backend %d; want %d, 0", tenant, n, others, pid, want[tenant])
				}
				mu.Lock()
				sessions[tenant][pid] = true
				mu.Unlock()
				if err := tags.Insert(ctx, &rlsTag{Code: fmt.Sprintf("g%d-%d", g, i), Label: tenant}); err != nil {
					fail("%s: insert: %v", tenant, err)
					return
				}
				if i%5 != 0 {
					continue
				}
				err = db.InTx(ctx, func(ctx context.Context) error {
					for range 2 {
						n, others, _, err := count(ctx)
						if err != nil {
							return err
						}
						if n != want[tenant] || others != 0 {
							fail("%s counts %d notes, %d not its own, in a transaction; want %d, 0", tenant, n, others, want[tenant])
						}
					}
					return nil
				})
				if err != nil {
					fail("%s: InTx: %v", tenant, err)
				}
			}
		})
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	shared := 0
	for pid := range sessions["alpha"] {
		if sessions["beta"][pid] {
			shared++
		}
	}
	if shared == 0 {
		t.Errorf("no server session served both tenants (alpha %v, beta %v): the test did not exercise transaction pooling", sessions["alpha"], sessions["beta"])
	}

	admin := rlsAdmin(t, rlsURL)
	var total, mislabeled int64
	if err := admin.QueryRow(context.Background(), "SELECT count(*), count(*) FILTER (WHERE label <> tenant_id) FROM tag").Scan(&total, &mislabeled); err != nil {
		t.Fatal(err)
	}
	if total != goroutines*rounds || mislabeled != 0 {
		t.Errorf("tag holds %d rows, %d stored for another tenant; want %d, 0", total, mislabeled, goroutines*rounds)
	}

	// Hold as many transactions open through PgBouncer as it has server
	// sessions (with our own PgBouncer, every one of them), and look at
	// each: no tenant set, no row visible.
	pc, err := pgxpool.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	// No named prepared statements across PgBouncer's server sessions.
	pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	txs := make([]pgx.Tx, rlsBouncerPoolSize)
	seen := map[uint32]bool{}
	for i := range txs {
		tx, err := pool.Begin(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(context.Background())
		txs[i] = tx
		var pid uint32
		var setting *string
		var visible int64
		err = tx.QueryRow(context.Background(), "SELECT pg_backend_pid(), current_setting('"+tenantmap.RowSecuritySetting+"', true), (SELECT count(*) FROM note)").Scan(&pid, &setting, &visible)
		if err != nil {
			t.Fatal(err)
		}
		seen[pid] = true
		if setting != nil && *setting != "" || visible != 0 {
			t.Errorf("server session %d keeps %s = %q and shows %d notes; want none, 0", pid, tenantmap.RowSecuritySetting, deref(setting), visible)
		}
	}
	if ours && len(seen) != rlsBouncerPoolSize {
		t.Errorf("looked at %d distinct server sessions, want all %d", len(seen), rlsBouncerPoolSize)
	}
}
