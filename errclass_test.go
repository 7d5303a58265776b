package tenantmap_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tenantmap/tenantmap"
)

// killBackends are the backends whose sessions a test can end from another
// connection: PostgreSQL directly (pg_terminate_backend) and MariaDB (KILL).
var killBackends = []backend{
	{"postgres/table", postgresOpen, tenantmap.TablePerTenant},
	{"mysql/table", mysqlOpen, tenantmap.TablePerTenant},
}

// killOwnSession ends the session the transaction in txCtx runs on, from
// another connection (ctx, outside the transaction), and waits until the
// server has ended it.
func killOwnSession(t *testing.T, db *tenantmap.DB, ctx, txCtx context.Context, mysql bool) {
	t.Helper()
	var id int64
	own, kill := "SELECT pg_backend_pid()", "SELECT pg_terminate_backend(%d)"
	if mysql {
		own, kill = "SELECT CONNECTION_ID()", "KILL %d"
	}
	if err := db.QueryRow(txCtx, own).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if mysql {
		if _, err := db.Exec(ctx, fmt.Sprintf(kill, id)); err != nil {
			t.Fatal(err)
		}
	} else {
		var ok bool
		if err := db.QueryRow(ctx, fmt.Sprintf(kill, id)).Scan(&ok); err != nil || !ok {
			t.Fatalf("pg_terminate_backend(%d): %v %v", id, ok, err)
		}
	}
	time.Sleep(300 * time.Millisecond) // the server ends the session asynchronously
}

// TestInTxSessionKilled ends a transaction's own session while fn runs: the
// next call and the commit fail with a *tenantmap.Error that says whether
// running again is safe.
func TestInTxSessionKilled(t *testing.T) {
	for _, b := range killBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, b, "acme")
			ctx := tctx("acme")
			isMySQL := b.name[:5] == "mysql"

			t.Run("call after kill", func(t *testing.T) {
				err := f.db.InTx(ctx, func(txCtx context.Context) error {
					if err := f.cases.Insert(txCtx, &Case{Title: "a", Ref: "a"}); err != nil {
						return err
					}
					killOwnSession(t, f.db, ctx, txCtx, isMySQL)
					_, err := f.cases.Count(txCtx, tenantmap.Query{})
					return err
				})
				var te *tenantmap.Error
				if !errors.As(err, &te) {
					t.Fatalf("InTx: %T %v, want a *tenantmap.Error", err, err)
				}
				if !errors.Is(err, tenantmap.ErrRetryable) {
					t.Fatalf("InTx: %v, want errors.Is ErrRetryable", err)
				}
				if errors.Is(err, tenantmap.ErrCommitUnknown) {
					t.Fatalf("InTx: %v: no commit was attempted, yet ErrCommitUnknown", err)
				}
			})

			t.Run("commit after kill", func(t *testing.T) {
				err := f.db.InTx(ctx, func(txCtx context.Context) error {
					if err := f.cases.Insert(txCtx, &Case{Title: "b", Ref: "b"}); err != nil {
						return err
					}
					killOwnSession(t, f.db, ctx, txCtx, isMySQL)
					return nil
				})
				var te *tenantmap.Error
				if !errors.As(err, &te) {
					t.Fatalf("InTx: %T %v, want a *tenantmap.Error", err, err)
				}
				if te.Op != "transaction" || te.Tenant != "acme" {
					t.Fatalf("InTx: Op %q Tenant %q, want transaction, acme", te.Op, te.Tenant)
				}
				unknown, retry := errors.Is(err, tenantmap.ErrCommitUnknown), errors.Is(err, tenantmap.ErrRetryable)
				if unknown == retry {
					t.Fatalf("InTx: %v: ErrCommitUnknown %v, ErrRetryable %v; want exactly one", err, unknown, retry)
				}
			})

			// The handle recovers: the next transaction runs on a live connection.
			if err := f.db.InTx(ctx, func(txCtx context.Context) error {
				return f.cases.Insert(txCtx, &Case{Title: "c", Ref: "c"})
			}); err != nil {
				t.Fatalf("InTx after the kills: %v", err)
			}
		})
	}
}

// TestInTxSerializationFailure runs the classic write skew in two
// SERIALIZABLE transactions on PostgreSQL: the second fails with 40001,
// which is ErrRetryable, and running it again succeeds.
func TestInTxSerializationFailure(t *testing.T) {
	f := newFixture(t, backend{"postgres/table", postgresOpen, tenantmap.TablePerTenant}, "acme")
	ctx := tctx("acme")
	read1, read2 := make(chan struct{}), make(chan struct{})
	done1 := make(chan error, 1)
	go func() {
		done1 <- f.db.InTx(ctx, func(txCtx context.Context) error {
			if _, err := f.cases.Count(txCtx, tenantmap.Where("status = ?", "open")); err != nil {
				return err
			}
			close(read1)
			<-read2
			return f.cases.Insert(txCtx, &Case{Title: "one", Ref: "one"})
		}, tenantmap.Isolation(tenantmap.Serializable))
	}()
	attempts := 0
	err := f.db.InTx(ctx, func(txCtx context.Context) error {
		attempts++
		if _, err := f.cases.Count(txCtx, tenantmap.Where("status = ?", "open")); err != nil {
			return err
		}
		if attempts == 1 {
			<-read1
			close(read2)
			if err := <-done1; err != nil {
				return fmt.Errorf("first transaction: %w", err)
			}
		}
		return f.cases.Insert(txCtx, &Case{Title: "two", Ref: "two"})
	}, tenantmap.Isolation(tenantmap.Serializable))
	var te *tenantmap.Error
	if !errors.As(err, &te) || !errors.Is(err, tenantmap.ErrRetryable) {
		t.Fatalf("second transaction: %T %v, want a *tenantmap.Error matching ErrRetryable", err, err)
	}
	if err := f.db.InTx(ctx, func(txCtx context.Context) error {
		if _, err := f.cases.Count(txCtx, tenantmap.Where("status = ?", "open")); err != nil {
			return err
		}
		return f.cases.Insert(txCtx, &Case{Title: "two", Ref: "two"})
	}, tenantmap.Isolation(tenantmap.Serializable)); err != nil {
		t.Fatalf("running it again: %v", err)
	}
}

// TestConstraintErrors: a broken unique key, primary key or foreign key is
// an *Error matching ErrDuplicateKey or ErrForeignKey on every database and
// strategy, and a missing row matches pgx.ErrNoRows and sql.ErrNoRows.
func TestConstraintErrors(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b, "acme")
		ctx := tctx("acme")
		isDup := func(what string, err error) {
			t.Helper()
			var te *tenantmap.Error
			if !errors.As(err, &te) || !errors.Is(err, tenantmap.ErrDuplicateKey) {
				t.Errorf("%s: %T %v, want a *tenantmap.Error matching ErrDuplicateKey", what, err, err)
			}
			if errors.Is(err, tenantmap.ErrForeignKey) || errors.Is(err, tenantmap.ErrRetryable) {
				t.Errorf("%s: %v matches ErrForeignKey or ErrRetryable", what, err)
			}
		}
		if err := f.cases.Insert(ctx, &Case{Title: "a", Ref: "r1"}); err != nil {
			t.Fatal(err)
		}
		isDup("insert of a taken unique value", f.cases.Insert(ctx, &Case{Title: "b", Ref: "r1"}))
		c := &Case{Title: "c", Ref: "r2"}
		if err := f.cases.Insert(ctx, c); err != nil {
			t.Fatal(err)
		}
		c.Ref = "r1"
		isDup("update to a taken unique value", f.cases.Update(ctx, c))
		if err := f.comments.Insert(ctx, &Comment{ID: "k", Body: "x"}); err != nil {
			t.Fatal(err)
		}
		isDup("insert of a taken primary key", f.comments.Insert(ctx, &Comment{ID: "k", Body: "y"}))
		isDup("insert in a transaction", f.db.InTx(ctx, func(txCtx context.Context) error {
			return f.comments.Insert(txCtx, &Comment{ID: "k", Body: "z"})
		}))

		_, err := f.cases.Get(ctx, int64(999999))
		if !errors.Is(err, tenantmap.ErrNotFound) || !errors.Is(err, pgx.ErrNoRows) || !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("Get of a missing key: %v; want ErrNotFound, pgx.ErrNoRows and sql.ErrNoRows", err)
		}
		if errors.Is(err, tenantmap.ErrDuplicateKey) || errors.Is(err, tenantmap.ErrRetryable) {
			t.Errorf("Get of a missing key: %v matches ErrDuplicateKey or ErrRetryable", err)
		}
	})
}

// TestForeignKeyErrors: a foreign key broken either way (a child without
// its parent, a parent still referenced) matches ErrForeignKey on SQLite,
// PostgreSQL and MariaDB.
func TestForeignKeyErrors(t *testing.T) {
	for _, b := range []backend{
		{"sqlite/table", sqliteOpen, tenantmap.TablePerTenant},
		{"postgres/table", postgresOpen, tenantmap.TablePerTenant},
		{"mysql/table", mysqlOpen, tenantmap.TablePerTenant},
	} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, b, "acme")
			ctx := tctx("acme")
			for _, stmt := range []string{
				"CREATE TABLE fk_parent (id INT PRIMARY KEY)",
				"CREATE TABLE fk_child (id INT PRIMARY KEY, parent_id INT NOT NULL REFERENCES fk_parent (id))",
				"INSERT INTO fk_parent (id) VALUES (1)",
				"INSERT INTO fk_child (id, parent_id) VALUES (1, 1)",
			} {
				if b.name == "mysql/table" && strings.HasPrefix(stmt, "CREATE TABLE fk_child") {
					// MySQL ignores an inline REFERENCES; it needs the table constraint.
					stmt = "CREATE TABLE fk_child (id INT PRIMARY KEY, parent_id INT NOT NULL, FOREIGN KEY (parent_id) REFERENCES fk_parent (id))"
				}
				if _, err := f.db.Exec(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			for _, stmt := range []string{
				"INSERT INTO fk_child (id, parent_id) VALUES (2, 42)", // no such parent
				"DELETE FROM fk_parent WHERE id = 1",                  // still referenced
			} {
				_, err := f.db.Exec(ctx, stmt)
				var te *tenantmap.Error
				if !errors.As(err, &te) || !errors.Is(err, tenantmap.ErrForeignKey) {
					t.Errorf("%s: %T %v, want a *tenantmap.Error matching ErrForeignKey", stmt, err, err)
				}
				if errors.Is(err, tenantmap.ErrDuplicateKey) || errors.Is(err, tenantmap.ErrRetryable) {
					t.Errorf("%s: %v matches ErrDuplicateKey or ErrRetryable", stmt, err)
				}
			}
		})
	}
}

// TestInTxDeadlock makes two transactions lock two rows in opposite orders
// on PostgreSQL (40P01) and MariaDB (1213): the one the server picks fails
// with a *tenantmap.Error matching ErrRetryable, the other commits.
func TestInTxDeadlock(t *testing.T) {
	for _, b := range killBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, b, "acme")
			ctx := tctx("acme")
			one, two := &Case{Title: "one", Ref: "one"}, &Case{Title: "two", Ref: "two"}
			for _, c := range []*Case{one, two} {
				if err := f.cases.Insert(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			touch := func(txCtx context.Context, id int64) error {
				_, err := f.db.Exec(txCtx, "UPDATE {case} SET priority = priority + 1 WHERE id = ?", id)
				return err
			}
			locked1, locked2 := make(chan struct{}), make(chan struct{})
			errs := make(chan error, 2)
			go func() {
				errs <- f.db.InTx(ctx, func(txCtx context.Context) error {
					if err := touch(txCtx, one.ID); err != nil {
						return err
					}
					close(locked1)
					<-locked2
					return touch(txCtx, two.ID)
				})
			}()
			go func() {
				errs <- f.db.InTx(ctx, func(txCtx context.Context) error {
					<-locked1
					if err := touch(txCtx, two.ID); err != nil {
						return err
					}
					close(locked2)
					time.Sleep(200 * time.Millisecond) // the other waits for row two
					return touch(txCtx, one.ID)
				})
			}()
			var failed []error
			for range 2 {
				if err := <-errs; err != nil {
					failed = append(failed, err)
				}
			}
			if len(failed) != 1 {
				t.Fatalf("%d of the two transactions failed (%v), want one", len(failed), failed)
			}
			var te *tenantmap.Error
			if err := failed[0]; !errors.As(err, &te) || !errors.Is(err, tenantmap.ErrRetryable) {
				t.Fatalf("deadlock victim: %T %v, want a *tenantmap.Error matching ErrRetryable", err, err)
			}
		})
	}
}
