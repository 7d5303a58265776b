package tenantmap_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

// isoNote is the record the isolation tests write: every row names the
// tenant it was written for in Owner, so a row that surfaces in another
// tenant's read is caught.
type isoNote struct {
	ID    int64
	Owner string
	Body  string
}

func isoRegister(t *testing.T, b backend) (*tenantmap.DB, *tenantmap.Table[isoNote]) {
	t.Helper()
	db := b.open(t)
	notes, err := tenantmap.Register[isoNote](db, b.strategy("{tenant}_note"), tenantmap.ModelName("note"))
	if err != nil {
		t.Fatal(err)
	}
	return db, notes
}

// isoLedger is what one tenant's table must hold. Its mutex is held around
// every operation on the tenant, so the ledger and the table agree exactly
// whenever the lock is free; operations on different tenants run
// concurrently.
type isoLedger struct {
	mu   sync.Mutex
	rows map[int64]string // key → body
	keys []int64          // the keys of rows, for random picks
}

func (l *isoLedger) add(id int64, body string) {
	l.rows[id] = body
	l.keys = append(l.keys, id)
}

func (l *isoLedger) remove(id int64) {
	delete(l.rows, id)
	i := slices.Index(l.keys, id)
	l.keys[i] = l.keys[len(l.keys)-1]
	l.keys = l.keys[:len(l.keys)-1]
}

// isoCheckAll reads every row of the tenant's table and compares them with
// the ledger.
func isoCheckAll(ctx context.Context, notes *tenantmap.Table[isoNote], tenant string, l *isoLedger) error {
	got, err := notes.Find(ctx, tenantmap.OrderBy("id"))
	if err != nil {
		return fmt.Errorf("find all: %w", err)
	}
	if len(got) != len(l.rows) {
		return fmt.Errorf("find all: %d rows, the tenant wrote %d", len(got), len(l.rows))
	}
	for _, n := range got {
		if n.Owner != tenant {
			return fmt.Errorf("find all: row %d belongs to %q", n.ID, n.Owner)
		}
		if body, ok := l.rows[n.ID]; !ok || body != n.Body {
			return fmt.Errorf("find all: row %d has body %q, the tenant wrote %q (present: %v)", n.ID, n.Body, body, ok)
		}
	}
	return nil
}

// TestIsolationConcurrent runs random operations from several goroutines on
// random tenants and checks that every read sees exactly its own tenant's
// rows.
func TestIsolationConcurrent(t *testing.T) {
	const (
		nTenants = 12
		workers  = 8
		ops      = 200
	)
	eachBackend(t, func(t *testing.T, b backend) {
		db, notes := isoRegister(t, b)
		// A refused call that leaked a connection must fail the test, not hang it.
		bg, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		tenants := make([]string, nTenants)
		ledgers := make([]*isoLedger, nTenants)
		for i := range tenants {
			tenants[i] = fmt.Sprintf("t%02d", i)
			ledgers[i] = &isoLedger{rows: map[int64]string{}}
		}
		mustCreate(t, db, tenants...)
		tablesBefore := physicalTables(t, db)

		var maxKey atomic.Int64 // the largest key any tenant has seen
		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)
		start := time.Now()

		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(seed, uint64(w)))
				for i := range ops {
					ti := rng.IntN(nTenants)
					id, l := tenants[ti], ledgers[ti]
					l.mu.Lock()
					err := isoStep(bg, db, notes, id, l, rng, &maxKey, fmt.Sprintf("%s/w%d/%d", id, w, i))
					l.mu.Unlock()
					if err != nil {
						t.Errorf("worker %d, op %d, tenant %s: %v", w, i, id, err)
						return
					}
				}
			})
		}
		wg.Wait()
		t.Logf("%d operations in %v", workers*ops, time.Since(start))
		if t.Failed() {
			return
		}

		var total int64
		for i, id := range tenants {
			ctx := tenantmap.WithTenant(bg, id)
			if err := isoCheckAll(ctx, notes, id, ledgers[i]); err != nil {
				t.Errorf("tenant %s at the end: %v", id, err)
			}
			total += int64(len(ledgers[i].rows))
		}
		if total == 0 {
			t.Error("no rows written: the workload did not run")
		}
		if after := physicalTables(t, db); !slices.Equal(after, tablesBefore) {
			t.Errorf("tables changed under the workload:\nbefore:\n%s\nafter:\n%s", joinLines(tablesBefore), joinLines(after))
		}
	})
}

// isoStep runs one random operation for tenant on its table, its ledger
// locked, and checks what it sees.
func isoStep(bg context.Context, db *tenantmap.DB, notes *tenantmap.Table[isoNote], tenant string, l *isoLedger,
	rng *rand.Rand, maxKey *atomic.Int64, body string) error {
	// Half of the calls carry the tenant in the context, half name it with For.
	ctx, tbl := tenantmap.WithTenant(bg, tenant), notes
	if rng.IntN(2) == 0 {
		ctx, tbl = bg, notes.For(tenant)
	}
	// A key this tenant holds, or (one time in three, or when it holds
	// none) any key seen in any tenant, which this one may not hold.
	pickKey := func() int64 {
		if len(l.keys) > 0 && rng.IntN(3) > 0 {
			return l.keys[rng.IntN(len(l.keys))]
		}
		return rng.Int64N(maxKey.Load()+3) + 1
	}
	noteMax := func(k int64) {
		for {
			m := maxKey.Load()
			if k <= m || maxKey.CompareAndSwap(m, k) {
				return
			}
		}
	}

	switch op := rng.IntN(100); {
	case op < 30: // insert
		n := &isoNote{Owner: tenant, Body: body}
		if err := tbl.Insert(ctx, n); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if n.ID <= 0 {
			return fmt.Errorf("insert: got key %d", n.ID)
		}
		if _, dup := l.rows[n.ID]; dup {
			return fmt.Errorf("insert: key %d was already in the tenant's table", n.ID)
		}
		l.add(n.ID, body)
		noteMax(n.ID)

	case op < 50: // get
		k := pickKey()
		got, err := tbl.Get(ctx, k)
		want, ok := l.rows[k]
		switch {
		case !ok && !errors.Is(err, tenantmap.ErrNotFound):
			return fmt.Errorf("get %d: the tenant has no such row, got %+v, %v", k, got, err)
		case !ok:
		case err != nil:
			return fmt.Errorf("get %d: %w", k, err)
		case got.ID != k || got.Owner != tenant || got.Body != want:
			return fmt.Errorf("get %d: got %+v, want owner %q body %q", k, *got, tenant, want)
		}

	case op < 60: // find
		if rng.IntN(3) == 0 {
			others, err := tbl.Find(ctx, tenantmap.Where("owner <> ?", tenant))
			if err != nil {
				return fmt.Errorf("find others: %w", err)
			}
			if len(others) != 0 {
				return fmt.Errorf("find others: %d rows of other tenants, first %+v", len(others), others[0])
			}
			return nil
		}
		if err := isoCheckAll(ctx, tbl, tenant, l); err != nil {
			return err
		}

	case op < 75: // update
		k := pickKey()
		n := &isoNote{ID: k, Owner: tenant, Body: body + "/upd"}
		err := tbl.Update(ctx, n)
		if _, ok := l.rows[k]; !ok {
			if !errors.Is(err, tenantmap.ErrNotFound) {
				return fmt.Errorf("update %d: the tenant has no such row, got %v", k, err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("update %d: %w", k, err)
		}
		l.rows[k] = n.Body

	case op < 85: // delete
		k := pickKey()
		err := tbl.Delete(ctx, k)
		if _, ok := l.rows[k]; !ok {
			if !errors.Is(err, tenantmap.ErrNotFound) {
				return fmt.Errorf("delete %d: the tenant has no such row, got %v", k, err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("delete %d: %w", k, err)
		}
		l.remove(k)

	case op < 95: // count
		n, err := tbl.Count(ctx, tenantmap.Query{})
		if err != nil {
			return fmt.Errorf("count: %w", err)
		}
		if n != int64(len(l.rows)) {
			return fmt.Errorf("count: %d, the tenant holds %d", n, len(l.rows))
		}
		n, err = tbl.Count(ctx, tenantmap.Where("owner <> ?", tenant))
		if err != nil || n != 0 {
			return fmt.Errorf("count of other tenants' rows: %d, %v", n, err)
		}

	case op < 98: // a transaction: insert, then count inside it
		tctx := tenantmap.WithTenant(bg, tenant)
		n := &isoNote{Owner: tenant, Body: body + "/tx"}
		err := db.InTx(tctx, func(ctx context.Context) error {
			if err := notes.Insert(ctx, n); err != nil {
				return err
			}
			c, err := notes.Count(ctx, tenantmap.Query{})
			if err != nil {
				return err
			}
			if c != int64(len(l.rows))+1 {
				return fmt.Errorf("count in the transaction: %d, want %d", c, len(l.rows)+1)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("transaction: %w", err)
		}
		l.add(n.ID, n.Body)
		noteMax(n.ID)

	default: // raw SQL
		var c int64
		err := db.QueryRow(tenantmap.WithTenant(bg, tenant), "SELECT count(*) FROM {note} WHERE owner = ? AND {tenant}", tenant).Scan(&c)
		if err != nil {
			return fmt.Errorf("raw count: %w", err)
		}
		if c != int64(len(l.rows)) {
			return fmt.Errorf("raw count: %d, the tenant holds %d", c, len(l.rows))
		}
	}
	return nil
}

// isoCounts returns the number of rows of each tenant.
func isoCounts(t *testing.T, notes *tenantmap.Table[isoNote], tenants ...string) []int64 {
	t.Helper()
	out := make([]int64, len(tenants))
	for i, id := range tenants {
		n, err := notes.For(id).Count(context.Background(), tenantmap.Query{})
		if err != nil {
			t.Fatalf("count %s: %v", id, err)
		}
		out[i] = n
	}
	return out
}

func isoMustGet(t *testing.T, notes *tenantmap.Table[isoNote], tenant string, key int64) isoNote {
	t.Helper()
	n, err := notes.For(tenant).Get(context.Background(), key)
	if err != nil {
		t.Fatalf("get %d of %s: %v", key, tenant, err)
	}
	return *n
}

// TestIsolationBoundaries checks the edges of a tenant: keys of another
// tenant, explicit tenants that disagree with the context, calls with no
// tenant, and transactions.
func TestIsolationBoundaries(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db, notes := isoRegister(t, b)
		// A refused call that leaked a connection must fail the test, not hang it.
		bg, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		mustCreate(t, db, "alpha", "beta")
		ctxA := tenantmap.WithTenant(bg, "alpha")
		ctxB := tenantmap.WithTenant(bg, "beta")
		var keysA []int64
		for i := range 3 {
			n := &isoNote{Owner: "alpha", Body: fmt.Sprintf("alpha-%d", i)}
			if err := notes.Insert(ctxA, n); err != nil {
				t.Fatal(err)
			}
			keysA = append(keysA, n.ID)
		}
		keyA := keysA[1]
		rowA := isoMustGet(t, notes, "alpha", keyA)
		tables := physicalTables(t, db)

		// unchanged fails the test if alpha's row, the row counts or the
		// tables differ from what they were.
		unchanged := func(t *testing.T, wantA, wantB int64) {
			t.Helper()
			if got := isoCounts(t, notes, "alpha", "beta"); got[0] != wantA || got[1] != wantB {
				t.Errorf("rows of alpha, beta: %v, want [%d %d]", got, wantA, wantB)
			}
			if got := isoMustGet(t, notes, "alpha", keyA); got != rowA {
				t.Errorf("alpha's row %d is %+v, was %+v", keyA, got, rowA)
			}
			if got := physicalTables(t, db); !slices.Equal(got, tables) {
				t.Errorf("tables changed:\nbefore:\n%s\nafter:\n%s", joinLines(tables), joinLines(got))
			}
		}

		t.Run("other tenant's key", func(t *testing.T) {
			if n, err := notes.Get(ctxB, keyA); !errors.Is(err, tenantmap.ErrNotFound) || !errors.Is(err, sql.ErrNoRows) {
				t.Errorf("beta Get(%d) = %+v, %v; want ErrNotFound (and sql.ErrNoRows)", keyA, n, err)
			}
			if err := notes.Update(ctxB, &isoNote{ID: keyA, Owner: "beta", Body: "hijacked"}); !errors.Is(err, tenantmap.ErrNotFound) {
				t.Errorf("beta Update(%d) = %v, want ErrNotFound", keyA, err)
			}
			if err := notes.UpdateColumns(ctxB, &isoNote{ID: keyA, Body: "hijacked"}, "body"); !errors.Is(err, tenantmap.ErrNotFound) {
				t.Errorf("beta UpdateColumns(%d) = %v, want ErrNotFound", keyA, err)
			}
			if err := notes.Delete(ctxB, keyA); !errors.Is(err, tenantmap.ErrNotFound) {
				t.Errorf("beta Delete(%d) = %v, want ErrNotFound", keyA, err)
			}
			if got, err := notes.Find(ctxB, tenantmap.Where("id = ?", keyA)); err != nil || len(got) != 0 {
				t.Errorf("beta Find(id = %d) = %+v, %v; want no rows", keyA, got, err)
			}
			if ok, err := notes.Exists(ctxB, tenantmap.Where("id = ?", keyA)); err != nil || ok {
				t.Errorf("beta Exists(id = %d) = %v, %v; want false", keyA, ok, err)
			}
			var body string
			if err := db.QueryRow(ctxB, "SELECT body FROM {note} WHERE id = ? AND {tenant}", keyA).Scan(&body); !errors.Is(err, tenantmap.ErrNotFound) {
				t.Errorf("beta raw select of %d = %q, %v; want ErrNotFound", keyA, body, err)
			}
			if n, err := db.Exec(ctxB, "DELETE FROM {note} WHERE id = ? AND {tenant}", keyA); err != nil || n != 0 {
				t.Errorf("beta raw delete of %d = %d, %v; want 0 rows", keyA, n, err)
			}
			if n, err := db.Exec(ctxB, "UPDATE {note} SET body = ? WHERE {tenant}", "hijacked"); err != nil || n != 0 {
				t.Errorf("beta raw update of every row = %d, %v; want 0 rows", n, err)
			}
			if isShared(b) {
				// Without the tenant filter a statement on a shared table
				// would reach every tenant's rows: refused before it runs.
				for _, stmt := range []string{"UPDATE {note} SET body = ?", "DELETE FROM {note} WHERE body <> ?", "SELECT count(*) FROM {note} WHERE body <> ? AND tenant_id = tenant_id"} {
					if n, err := db.Exec(ctxB, stmt, "hijacked"); !errors.Is(err, tenantmap.ErrInvalidQuery) || n != 0 {
						t.Errorf("beta %q without {tenant} = %d, %v; want ErrInvalidQuery", stmt, n, err)
					}
				}
			}
			unchanged(t, 3, 0)

			// beta gets rows of its own, with the same keys as alpha's.
			var keysB []int64
			for i := range 3 {
				n := &isoNote{Owner: "beta", Body: fmt.Sprintf("beta-%d", i)}
				if err := notes.Insert(ctxB, n); err != nil {
					t.Fatal(err)
				}
				keysB = append(keysB, n.ID)
			}
			if isShared(b) {
				// One sequence serves every tenant of a shared table: keys
				// never coincide, and the rest is about keys that do.
				if slices.Contains(keysB, keyA) {
					t.Fatalf("beta's keys %v include alpha's %d in a shared table", keysB, keyA)
				}
				for _, k := range keysB {
					if err := notes.Delete(ctxB, k); err != nil {
						t.Fatal(err)
					}
				}
				unchanged(t, 3, 0)
				return
			}
			if !slices.Contains(keysB, keyA) {
				t.Fatalf("beta's keys %v do not include alpha's %d; the per-tenant sequences are not what this test expects", keysB, keyA)
			}
			if got := isoMustGet(t, notes, "beta", keyA); got.Owner != "beta" {
				t.Errorf("beta Get(%d) = %+v, want beta's row", keyA, got)
			}
			if err := notes.Delete(ctxB, keyA); err != nil {
				t.Fatal(err)
			}
			if err := notes.Update(ctxB, &isoNote{ID: keysB[0], Owner: "beta", Body: "beta-updated"}); err != nil {
				t.Fatal(err)
			}
			if got := isoMustGet(t, notes, "alpha", keysB[0]); got.Owner != "alpha" || got.Body == "beta-updated" {
				t.Errorf("beta's update of key %d reached alpha: %+v", keysB[0], got)
			}
			unchanged(t, 3, 2)
			if err := notes.Delete(ctxB, keysB[0]); err != nil {
				t.Fatal(err)
			}
			if err := notes.Delete(ctxB, keysB[2]); err != nil {
				t.Fatal(err)
			}
			unchanged(t, 3, 0)
		})

		t.Run("For disagrees with the context", func(t *testing.T) {
			forB := notes.For("beta")
			mismatch := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, tenantmap.ErrTenantMismatch) {
					t.Errorf("For(beta).%s with alpha's context = %v, want ErrTenantMismatch", what, err)
				}
			}
			_, err := forB.Get(ctxA, keyA)
			mismatch("Get", err)
			n := &isoNote{Owner: "beta", Body: "mismatch"}
			mismatch("Insert", forB.Insert(ctxA, n))
			if n.ID != 0 {
				t.Errorf("a refused Insert wrote back key %d", n.ID)
			}
			mismatch("InsertMany", forB.InsertMany(ctxA, []*isoNote{{Owner: "beta", Body: "mismatch"}}))
			mismatch("Update", forB.Update(ctxA, &isoNote{ID: keyA, Owner: "beta", Body: "mismatch"}))
			mismatch("Delete", forB.Delete(ctxA, keyA))
			_, err = forB.Find(ctxA, tenantmap.Query{})
			mismatch("Find", err)
			_, err = forB.First(ctxA, tenantmap.Query{})
			mismatch("First", err)
			_, err = forB.Count(ctxA, tenantmap.Query{})
			mismatch("Count", err)
			_, err = forB.Exists(ctxA, tenantmap.Query{})
			mismatch("Exists", err)
			unchanged(t, 3, 0)

			// The same tenant both ways is fine, and For works alone.
			if got, err := notes.For("alpha").Get(ctxA, keyA); err != nil || *got != rowA {
				t.Errorf("For(alpha).Get with alpha's context = %+v, %v; want %+v", got, err, rowA)
			}
			if c, err := forB.Count(bg, tenantmap.Query{}); err != nil || c != 0 {
				t.Errorf("For(beta).Count = %d, %v; want 0", c, err)
			}
		})

		t.Run("no tenant", func(t *testing.T) {
			noTenant := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, tenantmap.ErrNoTenant) {
					t.Errorf("%s without a tenant = %v, want ErrNoTenant", what, err)
				}
			}
			_, err := notes.Get(bg, keyA)
			noTenant("Get", err)
			_, err = notes.For("").Get(bg, keyA)
			noTenant(`For("").Get`, err)
			n := &isoNote{Owner: "", Body: "nobody"}
			noTenant("Insert", notes.Insert(bg, n))
			if n.ID != 0 {
				t.Errorf("a refused Insert wrote back key %d", n.ID)
			}
			noTenant("InsertMany", notes.InsertMany(bg, []*isoNote{{Body: "nobody"}}))
			noTenant("Update", notes.Update(bg, &isoNote{ID: keyA, Body: "nobody"}))
			noTenant("UpdateColumns", notes.UpdateColumns(bg, &isoNote{ID: keyA, Body: "nobody"}, "body"))
			noTenant("Delete", notes.Delete(bg, keyA))
			_, err = notes.Find(bg, tenantmap.Query{})
			noTenant("Find", err)
			for _, err := range notes.All(bg, tenantmap.Query{}) {
				noTenant("All", err)
			}
			_, err = notes.First(bg, tenantmap.Query{})
			noTenant("First", err)
			_, err = notes.Count(bg, tenantmap.Query{})
			noTenant("Count", err)
			_, err = notes.Exists(bg, tenantmap.Query{})
			noTenant("Exists", err)
			_, err = db.Exec(bg, "DELETE FROM {note}")
			noTenant("Exec", err)
			rows, err := db.Query(bg, "SELECT id FROM {note}")
			if err == nil {
				rows.Close()
			}
			noTenant("Query", err)
			var id int64
			noTenant("QueryRow", db.QueryRow(bg, "SELECT id FROM {note}").Scan(&id))
			called := false
			noTenant("InTx", db.InTx(bg, func(context.Context) error { called = true; return nil }))
			if called {
				t.Error("InTx without a tenant ran its function")
			}
			unchanged(t, 3, 0)

			// An empty tenant id in the context is no tenant either: it must
			// fail closed, whichever of the two errors it names.
			empty := tenantmap.WithTenant(bg, "")
			emptyFails := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, tenantmap.ErrNoTenant) && !errors.Is(err, tenantmap.ErrInvalidTenantID) {
					t.Errorf("%s with an empty tenant = %v, want ErrNoTenant or ErrInvalidTenantID", what, err)
				}
			}
			emptyFails("Insert", notes.Insert(empty, &isoNote{Body: "empty"}))
			_, err = notes.Count(empty, tenantmap.Query{})
			emptyFails("Count", err)
			_, err = db.Exec(empty, "DELETE FROM {note}")
			emptyFails("Exec", err)
			emptyFails("InTx", db.InTx(empty, func(context.Context) error { called = true; return nil }))
			if called {
				t.Error("InTx with an empty tenant ran its function")
			}
			unchanged(t, 3, 0)
		})

		t.Run("transaction refuses another tenant", func(t *testing.T) {
			mismatch := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, tenantmap.ErrTenantMismatch) {
					t.Errorf("%s for beta in alpha's transaction = %v, want ErrTenantMismatch", what, err)
				}
			}
			inner := false
			added := &isoNote{Owner: "alpha", Body: "in-tx"}
			err := db.InTx(ctxA, func(ctx context.Context) error {
				if err := notes.Insert(ctx, added); err != nil {
					return err
				}
				inB := tenantmap.WithTenant(ctx, "beta")
				mismatch("Insert", notes.Insert(inB, &isoNote{Owner: "beta", Body: "in-alpha-tx"}))
				mismatch("For(beta).Insert", notes.For("beta").Insert(ctx, &isoNote{Owner: "beta", Body: "in-alpha-tx"}))
				mismatch("For(beta).Insert, beta's context", notes.For("beta").Insert(inB, &isoNote{Owner: "beta", Body: "in-alpha-tx"}))
				_, err := notes.Get(inB, keyA)
				mismatch("Get", err)
				_, err = notes.Count(inB, tenantmap.Query{})
				mismatch("Count", err)
				mismatch("Delete", notes.Delete(inB, keyA))
				_, err = db.Exec(inB, "DELETE FROM {note}")
				mismatch("Exec", err)
				rows, err := db.Query(inB, "SELECT id FROM {note}")
				if err == nil {
					rows.Close()
				}
				mismatch("Query", err)
				mismatch("InTx", db.InTx(inB, func(context.Context) error { inner = true; return nil }))
				return nil
			})
			if err != nil {
				t.Fatalf("InTx: %v", err)
			}
			if inner {
				t.Error("a nested InTx for beta ran inside alpha's transaction")
			}
			if got := isoMustGet(t, notes, "alpha", added.ID); got != *added {
				t.Errorf("the transaction's own insert: got %+v, want %+v", got, *added)
			}
			if err := notes.Delete(ctxA, added.ID); err != nil {
				t.Fatal(err)
			}
			unchanged(t, 3, 0)

			// A transaction that fails leaves nothing behind.
			boom := errors.New("boom")
			lost := &isoNote{Owner: "alpha", Body: "rolled-back"}
			err = db.InTx(ctxA, func(ctx context.Context) error {
				if err := notes.Insert(ctx, lost); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("InTx = %v, want its function's error", err)
			}
			if n, err := notes.Get(ctxA, lost.ID); !errors.Is(err, tenantmap.ErrNotFound) {
				t.Errorf("a rolled-back insert is visible: %+v, %v", n, err)
			}
			unchanged(t, 3, 0)
		})
	})
}

// XNote is a model registered after tenants exist, whose template makes
// tenant "a"'s table name equal tenant "a_x"'s note table.
type XNote struct {
	ID    int64
	Owner string
	Body  string
}

// Physical names from templates can coincide between tenants; the catalog
// records whose each object is, so a call never reaches a table of another
// tenant's and Drop never removes one.
func TestIsolationNameCollision(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db := b.open(t)
		bg := context.Background()
		if b.name == "postgres/schema" || b.name == "pgbouncer/schema" {
			// Schemas: "{tenant}_x" for tenant a is tenant a_x's schema.
			if _, err := tenantmap.Register[isoNote](db, tenantmap.SchemaPerTenant(""), tenantmap.ModelName("note")); err != nil {
				t.Fatal(err)
			}
			if _, err := tenantmap.Register[XNote](db, tenantmap.SchemaPerTenant("{tenant}_x"), tenantmap.ModelName("x_note")); err != nil {
				t.Fatal(err)
			}
			mustCreate(t, db, "a_x")
			if _, err := db.Tenants().Create(bg, "a"); !errors.Is(err, tenantmap.ErrNameConflict) {
				t.Fatalf("Create(a) over a_x's schema: want ErrNameConflict, got %v", err)
			}
			return
		}
		notes, err := tenantmap.Register[isoNote](db, tenantmap.TablePerTenant("{tenant}_note"), tenantmap.ModelName("note"))
		if err != nil {
			t.Fatal(err)
		}
		mustCreate(t, db, "a", "a_x")
		secret := &isoNote{Owner: "a_x", Body: "a_x's secret"}
		if err := notes.Insert(tctx("a_x"), secret); err != nil {
			t.Fatal(err)
		}
		// A later release registers a model whose name for tenant a is a_x_note.
		xnotes, err := tenantmap.Register[XNote](db, tenantmap.TablePerTenant("{tenant}_x_note"), tenantmap.ModelName("x_note"))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := xnotes.Find(tctx("a"), tenantmap.Query{})
		if !errors.Is(err, tenantmap.ErrNameConflict) {
			t.Fatalf("tenant a reading x_note: want ErrNameConflict, got %v rows, %v", len(rows), err)
		}
		if _, err := db.Exec(tctx("a"), "DELETE FROM {x_note}"); !errors.Is(err, tenantmap.ErrNameConflict) {
			t.Fatalf("raw statement on a's x_note: want ErrNameConflict, got %v", err)
		}
		if err := db.Tenants().Drop(bg, "a", tenantmap.ConfirmDrop("a")); err != nil {
			t.Fatal(err)
		}
		got, err := notes.Get(tctx("a_x"), secret.ID)
		if err != nil || got.Body != secret.Body {
			t.Fatalf("dropping a harmed a_x's table: %v, %v", got, err)
		}
		// The catalog's own tables are never a tenant's.
		if _, err := tenantmap.Register[XNote](db, tenantmap.TablePerTenant("{tenant}_tenant"), tenantmap.ModelName("t_note")); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Tenants().Create(bg, "tenantmap"); !errors.Is(err, tenantmap.ErrNameConflict) {
			t.Fatalf("Create(tenantmap) with {tenant}_tenant: want ErrNameConflict, got %v", err)
		}
	})
}

// Tenants of one model placed differently — the default strategy for most, a
// tenant-chosen one for a large tenant — each find their own rows where the
// catalog says they are, and stay apart.
func TestIsolationMixedPlacement(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db := b.open(t)
		notes, err := tenantmap.Register[isoNote](db, b.strategy("{tenant}_note"), tenantmap.ModelName("note"))
		if err != nil {
			t.Fatal(err)
		}
		var big tenantmap.Strategy
		var bigTable string // where big's notes must be, as physicalTables names it
		switch b.name {
		case "postgres/table", "mysql/table":
			if b.name == "postgres/table" {
				big, bigTable = tenantmap.SchemaPerTenant(""), "big.note"
			} else {
				// A prefix of its own: mysql/database, running beside this, drops
				// every database under mysqlDBPrefix when it ends.
				prefix := "tmpl" + randomSuffix()[:6] + "_"
				big, bigTable = tenantmap.DatabasePerTenant(prefix+"{tenant}"), prefix+"big.note"
				databaseStrategyDBs.Store(db, prefix)
				t.Cleanup(func() {
					_, _ = tenantmap.AdminExec(context.Background(), db, "DROP DATABASE IF EXISTS `"+prefix+"big`")
				})
			}
		case "postgres/schema", "pgbouncer/schema":
			big, bigTable = tenantmap.TablePerTenant("{tenant}_own_note"), "public.big_own_note"
		default:
			big, bigTable = tenantmap.TablePerTenant("own_{tenant}_note"), ".own_big_note"
		}
		bg := context.Background()
		mustCreate(t, db, "small1", "small2")
		if _, err := db.Tenants().Create(bg, "big", tenantmap.WithPlacement(big)); err != nil {
			t.Fatal(err)
		}
		tables := physicalTables(t, db)
		if !slices.ContainsFunc(tables, func(s string) bool { return strings.HasSuffix(s, bigTable) }) {
			t.Fatalf("big's notes are not at %s: %v", bigTable, tables)
		}
		keys := map[string]int64{}
		for _, id := range []string{"small1", "big", "small2"} {
			for i := range 3 {
				n := &isoNote{Owner: id, Body: fmt.Sprint(i)}
				if err := notes.Insert(tctx(id), n); err != nil {
					t.Fatal(err)
				}
				keys[id] = n.ID
			}
		}
		for _, id := range []string{"small1", "big", "small2"} {
			rows, err := notes.Find(tctx(id), tenantmap.Query{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 3 {
				t.Errorf("%s sees %d rows, want 3", id, len(rows))
			}
			for _, r := range rows {
				if r.Owner != id {
					t.Errorf("%s sees %s's row", id, r.Owner)
				}
			}
		}
		// Drop big: its placement goes, the others stay.
		if err := db.Tenants().Drop(bg, "big", tenantmap.ConfirmDrop("big")); err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(physicalTables(t, db), func(s string) bool { return strings.HasSuffix(s, bigTable) }) {
			t.Errorf("big's table survived its drop")
		}
		for _, id := range []string{"small1", "small2"} {
			if n, err := notes.Count(tctx(id), tenantmap.Query{}); err != nil || n != 3 {
				t.Errorf("%s after big's drop: %d rows, %v", id, n, err)
			}
		}
		// A placement the database does not have is refused, and makes nothing.
		if b.name == "sqlite/table" {
			if _, err := db.Tenants().Create(bg, "huge", tenantmap.WithPlacement(tenantmap.SchemaPerTenant(""))); !errors.Is(err, tenantmap.ErrInvalidModel) {
				t.Errorf("SchemaPerTenant placement on SQLite: want ErrInvalidModel, got %v", err)
			}
			if _, err := db.Tenants().Get(bg, "huge"); !errors.Is(err, tenantmap.ErrTenantNotFound) {
				t.Errorf("a refused placement left a tenant: %v", err)
			}
		}
	})
}
