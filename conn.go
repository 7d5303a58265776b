package tenantmap

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// querier is what the table code needs from a pool or a transaction. Two
// implementations: pgx (PostgreSQL, native protocol) and database/sql
// (SQLite). Arguments are already bound to the dialect's placeholders.
type querier interface {
	exec(ctx context.Context, sql string, args ...any) (int64, error)
	query(ctx context.Context, sql string, args ...any) (rows, error)
	queryRow(ctx context.Context, sql string, args ...any) row
}

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

type row interface {
	Scan(dest ...any) error
}

// backend is a pool: it can also begin transactions.
type backend interface {
	querier
	begin(ctx context.Context) (txBackend, error)
	close()
}

type txBackend interface {
	querier
	commit(ctx context.Context) error
	rollback(ctx context.Context) error
}

// copier is the optional bulk-load capability (pgx CopyFrom).
type copier interface {
	copyFrom(ctx context.Context, table pgx.Identifier, cols []string, src [][]any) (int64, error)
}

// pgx ------------------------------------------------------------------------

type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

type pgxBackend struct {
	q    pgxQuerier
	pool *pgxpool.Pool // nil inside a transaction, and over one connection
	conn *pgx.Conn     // one connection (a tenant database's), closed on close
	tx   pgx.Tx
	own  bool // close the pool on close
}

func (b *pgxBackend) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	if len(args) == 0 {
		// pgx sends an Exec without arguments over the simple protocol, which
		// runs several ;-separated statements. The extended protocol refuses
		// them: one statement, whatever the text says.
		r, err := b.q.Query(ctx, sql, pgx.QueryExecModeExec)
		if err != nil {
			return 0, err
		}
		r.Close()
		return r.CommandTag().RowsAffected(), r.Err()
	}
	tag, err := b.q.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

func (b *pgxBackend) query(ctx context.Context, sql string, args ...any) (rows, error) {
	r, err := b.q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (b *pgxBackend) queryRow(ctx context.Context, sql string, args ...any) row {
	return b.q.QueryRow(ctx, sql, args...)
}

func (b *pgxBackend) copyFrom(ctx context.Context, table pgx.Identifier, cols []string, src [][]any) (int64, error) {
	return b.q.CopyFrom(ctx, table, cols, pgx.CopyFromRows(src))
}

func (b *pgxBackend) begin(ctx context.Context) (txBackend, error) {
	var tx pgx.Tx
	var err error
	opts := txOptionsFrom(ctx)
	if b.conn != nil {
		tx, err = b.conn.BeginTx(ctx, opts)
	} else {
		tx, err = b.pool.BeginTx(ctx, opts)
	}
	if err != nil {
		return nil, err
	}
	return &pgxBackend{q: tx, tx: tx}, nil
}

func (b *pgxBackend) commit(ctx context.Context) error   { return b.tx.Commit(ctx) }
func (b *pgxBackend) rollback(ctx context.Context) error { return b.tx.Rollback(ctx) }

func (b *pgxBackend) close() {
	if b.own && b.pool != nil {
		b.pool.Close()
	}
	if b.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.conn.Close(ctx)
	}
}

// database/sql -----------------------------------------------------------------

type sqlQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type sqlBackend struct {
	q     sqlQuerier
	db    *sql.DB   // nil inside a transaction, and over one connection
	conn  *sql.Conn // one connection held for a migration (MySQL), closed by its holder
	tx    *sql.Tx
	stmts *stmtCache // the pool's prepared statements; nil if off, and in a transaction
}

// newSQLBackend is a backend over the pool db, keeping up to stmtCacheSize
// prepared statements (none if it is not positive).
func newSQLBackend(db *sql.DB, stmtCacheSize int) *sqlBackend {
	b := &sqlBackend{q: db, db: db}
	if stmtCacheSize > 0 {
		b.stmts = newStmtCache(db, stmtCacheSize)
	}
	return b
}

// prepared returns the cached statement for a call with args, nil if the
// call runs its text unprepared: in a transaction, without arguments (DDL
// and scripts, which MySQL's driver sends as text), or if the text cannot
// be prepared.
func (b *sqlBackend) prepared(ctx context.Context, query string, args []any) *cachedStmt {
	if b.stmts == nil || len(args) == 0 {
		return nil
	}
	return b.stmts.acquire(ctx, query)
}

func (b *sqlBackend) execResult(ctx context.Context, query string, args []any) (sql.Result, error) {
	if st := b.prepared(ctx, query, args); st != nil {
		defer b.stmts.release(st)
		return st.stmt.ExecContext(ctx, args...)
	}
	return b.q.ExecContext(ctx, query, args...)
}

func (b *sqlBackend) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := b.execResult(ctx, query, args)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// execLastID runs an INSERT and returns the key the database generated, for
// databases without INSERT … RETURNING (MySQL).
func (b *sqlBackend) execLastID(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := b.execResult(ctx, query, args)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// lastIDExecer is implemented by backends that report generated keys.
type lastIDExecer interface {
	execLastID(ctx context.Context, query string, args ...any) (int64, error)
}

func (b *sqlBackend) query(ctx context.Context, query string, args ...any) (rows, error) {
	var r *sql.Rows
	var err error
	if st := b.prepared(ctx, query, args); st != nil {
		// The rows keep the statement open until they are closed, even if
		// the cache closes it before.
		r, err = st.stmt.QueryContext(ctx, args...)
		b.stmts.release(st)
	} else {
		r, err = b.q.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

func (b *sqlBackend) queryRow(ctx context.Context, query string, args ...any) row {
	if st := b.prepared(ctx, query, args); st != nil {
		defer b.stmts.release(st)
		return st.stmt.QueryRowContext(ctx, args...)
	}
	return b.q.QueryRowContext(ctx, query, args...)
}

func (b *sqlBackend) begin(ctx context.Context) (txBackend, error) {
	var tx *sql.Tx
	var err error
	o := txOptionsOf(ctx)
	sqlite := b.db != nil && isSQLite(b.db)
	if o.readOnly && sqlite {
		return beginSQLiteReadOnly(ctx, b.db)
	}
	opts := o.sql(sqlite)
	if isSnapshot(ctx) {
		// MySQL: START TRANSACTION READ ONLY, a consistent snapshot from the
		// first read (InnoDB's REPEATABLE READ). SQLite: a deferred BEGIN
		// (not _txlock's IMMEDIATE), a snapshot of the WAL that holds no
		// write lock.
		opts = &sql.TxOptions{ReadOnly: true}
	}
	if b.conn != nil {
		tx, err = b.conn.BeginTx(ctx, opts)
	} else {
		tx, err = b.db.BeginTx(ctx, opts)
	}
	if err != nil {
		return nil, err
	}
	return &sqlBackend{q: tx, tx: tx}, nil
}

func (b *sqlBackend) commit(context.Context) error   { return b.tx.Commit() }
func (b *sqlBackend) rollback(context.Context) error { return b.tx.Rollback() }
func (b *sqlBackend) close() {
	if b.stmts != nil {
		b.stmts.close()
	}
	if b.db != nil {
		b.db.Close()
	}
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

type ctxSnapshotKey struct{}

// withSnapshot marks ctx so that the transactions begun with it are
// read-only snapshots: every statement sees the database as of the first.
func withSnapshot(ctx context.Context) context.Context {
	return context.WithValue(ctx, ctxSnapshotKey{}, true)
}

func isSnapshot(ctx context.Context) bool { return ctx.Value(ctxSnapshotKey{}) != nil }

// txOptionsFrom is pgx's options for a transaction begun with ctx.
func txOptionsFrom(ctx context.Context) pgx.TxOptions {
	if isSnapshot(ctx) {
		return pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	}
	return txOptionsOf(ctx).pgx()
}

// scripter runs a script of statements tenantmap rendered itself (DDL,
// no values) in one round trip. Only for tenantmap's own statements:
// programmers' SQL always goes one statement at a time.
type scripter interface {
	execScript(ctx context.Context, script string) error
}

func (b *pgxBackend) execScript(ctx context.Context, script string) error {
	_, err := b.q.Exec(ctx, script, pgx.QueryExecModeSimpleProtocol)
	return err
}

func (b *sqlBackend) execScript(ctx context.Context, script string) error {
	_, err := b.q.ExecContext(ctx, script) // modernc.org/sqlite runs every statement of the text
	return err
}

// scriptOn runs a script on q, which must be able to.
func scriptOn(ctx context.Context, q any, script string) error {
	s, ok := q.(scripter)
	if !ok {
		return fmt.Errorf("tenantmap: %T cannot run a script", q)
	}
	return s.execScript(ctx, script)
}

// execScript runs stmts on q as one script where q can, else one by one.
func execScript(ctx context.Context, q querier, stmts []string) error {
	if s, ok := q.(scripter); ok && len(stmts) > 1 {
		return s.execScript(ctx, strings.Join(stmts, ";\n"))
	}
	for _, st := range stmts {
		if _, err := q.exec(ctx, st); err != nil {
			return fmt.Errorf("%w\n\tin: %s", err, st)
		}
	}
	return nil
}

// isNoRows reports a driver's "no rows" error.
func isNoRows(err error) bool {
	return errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows)
}
