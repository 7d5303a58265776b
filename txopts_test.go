package tenantmap_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap"
)

// TestInTxReadOnly: a read-only transaction reads, refuses every write on
// every backend, and leaves its connection writable for the next caller.
func TestInTxReadOnly(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b, "acme")
		ctx := tctx("acme")
		c := &Case{Title: "seen", Ref: "R-1"}
		if err := f.cases.Insert(ctx, c); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			err := f.db.InTx(ctx, func(ctx context.Context) error {
				if _, err := f.cases.Get(ctx, c.ID); err != nil {
					t.Errorf("a read in a read-only transaction: %v", err)
				}
				return f.cases.Insert(ctx, &Case{Title: "write", Ref: "R-w"})
			}, tenantmap.ReadOnly())
			if err == nil {
				t.Fatal("an insert in a read-only transaction succeeded")
			}
			var te *tenantmap.Error
			if !errors.As(err, &te) {
				t.Errorf("untyped error: %v", err)
			}
			if err := f.db.InTx(ctx, func(ctx context.Context) error {
				_, err := f.cases.Get(ctx, c.ID)
				return err
			}, tenantmap.ReadOnly()); err != nil {
				t.Errorf("a read-only transaction that only reads: %v", err)
			}
			// The pool's connections write again (SQLite: query_only was
			// turned off before the connection went back).
			if err := f.cases.Insert(ctx, &Case{Title: "after", Ref: "R-a" + string(rune('0'+i))}); err != nil {
				t.Fatalf("insert after a read-only transaction: %v", err)
			}
		}
		if n, _ := f.cases.Count(ctx, tenantmap.Where("title = ?", "write")); n != 0 {
			t.Errorf("%d rows written by read-only transactions", n)
		}
	})
}

// TestInTxIsolation: the level asked for is the transaction's (PostgreSQL
// and MySQL say so themselves); SQLite accepts every level; an unknown level
// and a nested InTx that would change the outer one are refused, typed.
func TestInTxIsolation(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b, "acme")
		ctx := tctx("acme")
		levels := map[tenantmap.IsolationLevel]string{
			tenantmap.ReadCommitted:  "read committed",
			tenantmap.RepeatableRead: "repeatable read",
			tenantmap.Serializable:   "serializable",
		}
		for level, want := range levels {
			err := f.db.InTx(ctx, func(ctx context.Context) error {
				if _, err := f.cases.Count(ctx, tenantmap.Query{}); err != nil { // InnoDB starts the transaction here
					return err
				}
				got := currentIsolation(t, f.db, ctx)
				if got != "" && got != want {
					t.Errorf("Isolation(%s): the transaction runs at %q", level, got)
				}
				return nil
			}, tenantmap.Isolation(level))
			if err != nil {
				t.Fatalf("Isolation(%s): %v", level, err)
			}
		}
		// What the levels mean: a row committed by another connection during
		// the transaction shows in read committed, not in repeatable read.
		if !strings.HasPrefix(b.name, "sqlite") { // one writer at a time: the other insert would wait
			for i, level := range []tenantmap.IsolationLevel{tenantmap.ReadCommitted, tenantmap.RepeatableRead} {
				var before, after int64
				err := f.db.InTx(ctx, func(txctx context.Context) error {
					var err error
					if before, err = f.comments.Count(txctx, tenantmap.Query{}); err != nil {
						return err
					}
					if err := f.comments.Insert(ctx, &Comment{ID: "other" + string(rune('0'+i)), Body: "committed meanwhile"}); err != nil {
						return err
					}
					after, err = f.comments.Count(txctx, tenantmap.Query{})
					return err
				}, tenantmap.Isolation(level))
				if err != nil {
					t.Fatalf("Isolation(%s): %v", level, err)
				}
				if sees := after == before+1; sees != (level == tenantmap.ReadCommitted) {
					t.Errorf("Isolation(%s): counts %d then %d around another connection's commit", level, before, after)
				}
			}
		}
		if err := f.db.InTx(ctx, func(context.Context) error { return nil }, tenantmap.Isolation(99)); !errors.Is(err, tenantmap.ErrInvalidTxOption) {
			t.Errorf("unknown level: want ErrInvalidTxOption, got %v", err)
		}
		err := f.db.InTx(ctx, func(ctx context.Context) error {
			if err := f.db.InTx(ctx, func(context.Context) error { return nil }, tenantmap.ReadOnly()); !errors.Is(err, tenantmap.ErrInvalidTxOption) {
				t.Errorf("nested read-only InTx in a read-write one: want ErrInvalidTxOption, got %v", err)
			}
			return f.db.InTx(ctx, func(context.Context) error { return nil }, tenantmap.Isolation(tenantmap.Serializable))
		}, tenantmap.Isolation(tenantmap.Serializable))
		if err != nil {
			t.Errorf("nested InTx with the outer's options: %v", err)
		}
	})
}

// currentIsolation asks the server the isolation level of the transaction
// ctx carries; "" on SQLite, which has one level.
func currentIsolation(t *testing.T, db *tenantmap.DB, ctx context.Context) string {
	t.Helper()
	var q string
	switch db.Dialect().Name() {
	case "postgres":
		q = "SELECT current_setting('transaction_isolation')"
	case "mysql":
		// The level of this transaction (SET TRANSACTION sets only the
		// next one; the session variable keeps the session's default).
		// InnoDB refreshes this table's cache at most every 100 ms.
		time.Sleep(150 * time.Millisecond)
		q = "SELECT LOWER(REPLACE(trx_isolation_level, '-', ' ')) FROM information_schema.innodb_trx WHERE trx_mysql_thread_id = CONNECTION_ID()"
	default:
		return ""
	}
	var s string
	if err := db.QueryRow(ctx, q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return strings.ToLower(s)
}

// TestInTxOuterContextRunsOutside shows what InTx documents: a call inside
// fn made with the outer context is not part of the transaction. On
// PostgreSQL and MySQL it commits on its own and survives the rollback; on
// SQLite it waits for the transaction's write lock and fails.
func TestInTxOuterContextRunsOutside(t *testing.T) {
	for _, b := range backends {
		if b.name != "sqlite/table" && b.name != "postgres/table" && b.name != "mysql/table" && b.name != "postgres/shared-rls" {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, b, "acme")
			outer := tctx("acme")
			errRollback := errors.New("roll back")
			var outsideErr error
			err := f.db.InTx(outer, func(ctx context.Context) error {
				if err := f.cases.Insert(ctx, &Case{Title: "inside", Ref: "R-in"}); err != nil {
					return err
				}
				wctx, cancel := context.WithTimeout(outer, 2*time.Second)
				defer cancel()
				outsideErr = f.comments.Insert(wctx, &Comment{ID: "outside", Body: "outer context"})
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Fatal(err)
			}
			if n, _ := f.cases.Count(outer, tenantmap.Query{}); n != 0 {
				t.Errorf("the transaction's insert survived its rollback")
			}
			_, getErr := f.comments.Get(outer, "outside")
			if strings.HasPrefix(b.name, "sqlite") {
				if outsideErr == nil || getErr == nil {
					t.Errorf("SQLite: the outer context's write did not wait for the transaction's lock: %v, %v", outsideErr, getErr)
				}
				return
			}
			if outsideErr != nil || getErr != nil {
				t.Errorf("the outer context's write is not outside the transaction: insert %v, get after rollback %v", outsideErr, getErr)
			}
		})
	}
}
