package tenantmap

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"modernc.org/sqlite"
)

// ErrInvalidTxOption: InTx was given an option the database cannot honour,
// or an option for a transaction it joins (a nested InTx) that differs from
// the transaction's own.
var ErrInvalidTxOption = errors.New("tenantmap: invalid transaction option")

// IsolationLevel is a transaction's isolation level, as SQL names them.
type IsolationLevel uint8

// The isolation levels. DefaultIsolation is the database's own default
// (PostgreSQL: read committed; MySQL/MariaDB: repeatable read; SQLite:
// serializable).
const (
	DefaultIsolation IsolationLevel = iota
	ReadUncommitted
	ReadCommitted
	RepeatableRead
	Serializable
)

var isolationNames = [...]string{"default", "read uncommitted", "read committed", "repeatable read", "serializable"}

func (l IsolationLevel) String() string {
	if int(l) < len(isolationNames) {
		return isolationNames[l]
	}
	return fmt.Sprintf("isolation(%d)", uint8(l))
}

// TxOption sets how InTx begins its transaction.
type TxOption func(*txOptions)

type txOptions struct {
	isolation IsolationLevel
	readOnly  bool
}

// Isolation runs the transaction at level l. SQLite runs every transaction
// serializable, which is at least as strict as any level, so it accepts
// every level and changes nothing. PostgreSQL reads ReadUncommitted as read
// committed.
func Isolation(l IsolationLevel) TxOption { return func(o *txOptions) { o.isolation = l } }

// ReadOnly makes the transaction refuse writes: PostgreSQL and MySQL begin
// it READ ONLY; SQLite begins a deferred transaction (no write lock) with
// PRAGMA query_only on its connection, turned off again before the
// connection goes back to the pool (a connection that cannot be turned
// back is closed, not reused).
func ReadOnly() TxOption { return func(o *txOptions) { o.readOnly = true } }

func collectTxOptions(opts []TxOption) (txOptions, error) {
	var o txOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.isolation > Serializable {
		return o, fmt.Errorf("%w: unknown isolation level %d; use one of ReadUncommitted, ReadCommitted, RepeatableRead, Serializable", ErrInvalidTxOption, o.isolation)
	}
	return o, nil
}

type ctxTxOptionsKey struct{}

// withTxOptions carries o to the backends' begin.
func withTxOptions(ctx context.Context, o txOptions) context.Context {
	if o == (txOptions{}) {
		return ctx
	}
	return context.WithValue(ctx, ctxTxOptionsKey{}, o)
}

func txOptionsOf(ctx context.Context) txOptions {
	o, _ := ctx.Value(ctxTxOptionsKey{}).(txOptions)
	return o
}

// pgxTxOptions is o for pgx.
func (o txOptions) pgx() pgx.TxOptions {
	var p pgx.TxOptions
	switch o.isolation {
	case ReadUncommitted:
		p.IsoLevel = pgx.ReadUncommitted
	case ReadCommitted:
		p.IsoLevel = pgx.ReadCommitted
	case RepeatableRead:
		p.IsoLevel = pgx.RepeatableRead
	case Serializable:
		p.IsoLevel = pgx.Serializable
	}
	if o.readOnly {
		p.AccessMode = pgx.ReadOnly
	}
	return p
}

// sql is o for database/sql; sqlite drops the isolation level, which
// modernc.org/sqlite ignores anyway (every SQLite transaction is
// serializable).
func (o txOptions) sql(sqlite bool) *sql.TxOptions {
	if o == (txOptions{}) {
		return nil
	}
	s := &sql.TxOptions{ReadOnly: o.readOnly}
	if !sqlite {
		switch o.isolation {
		case ReadUncommitted:
			s.Isolation = sql.LevelReadUncommitted
		case ReadCommitted:
			s.Isolation = sql.LevelReadCommitted
		case RepeatableRead:
			s.Isolation = sql.LevelRepeatableRead
		case Serializable:
			s.Isolation = sql.LevelSerializable
		}
	}
	return s
}

// isSQLite reports whether db is a modernc.org/sqlite pool.
func isSQLite(db *sql.DB) bool {
	_, ok := db.Driver().(*sqlite.Driver)
	return ok
}

// beginSQLiteReadOnly begins a read-only transaction on a connection of its
// own: a deferred BEGIN, then PRAGMA query_only, which makes every write
// fail with SQLITE_READONLY. The pragma outlives the transaction, so the
// connection is held until it is turned off again.
func beginSQLiteReadOnly(ctx context.Context, db *sql.DB) (txBackend, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		conn.Close()
		return nil, err
	}
	t := &sqliteReadOnlyTx{sqlBackend: sqlBackend{q: tx, tx: tx}, conn: conn}
	if _, err := tx.ExecContext(ctx, "PRAGMA query_only = ON"); err != nil {
		_ = t.rollback(ctx)
		return nil, err
	}
	return t, nil
}

type sqliteReadOnlyTx struct {
	sqlBackend
	conn *sql.Conn
}

func (t *sqliteReadOnlyTx) commit(ctx context.Context) error {
	err := t.sqlBackend.commit(ctx)
	t.release()
	return err
}

func (t *sqliteReadOnlyTx) rollback(ctx context.Context) error {
	err := t.sqlBackend.rollback(ctx)
	t.release()
	return err
}

// release turns query_only off and gives the connection back, or closes it
// if it cannot be turned off: a read-only connection must not serve the
// pool's writers.
func (t *sqliteReadOnlyTx) release() {
	if t.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5e9)
	defer cancel()
	if _, err := t.conn.ExecContext(ctx, "PRAGMA query_only = OFF"); err != nil {
		_ = t.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	t.conn.Close()
	t.conn = nil
}
