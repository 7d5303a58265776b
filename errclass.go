package tenantmap

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// Error classes. Every *Error matches the classes of its cause with
// errors.Is, whichever database the cause came from, so a caller branches
// on them without knowing the driver:
//
//	err := db.InTx(ctx, fn)
//	if errors.Is(err, tenantmap.ErrRetryable) { … run the whole InTx again … }
var (
	// ErrRetryable: the call failed for a reason that a new attempt may
	// not meet, and nothing it did was kept: the connection was lost
	// before the outcome (PostgreSQL class 08, 57P01 admin_shutdown,
	// 57P02, 57P03 cannot_connect_now; MySQL 1053 server shutdown, 1927
	// connection killed, a broken connection; driver.ErrBadConn; io.EOF),
	// a serialization failure (PostgreSQL 40001), a deadlock (PostgreSQL
	// 40P01, MySQL 1213), a lock wait timeout (MySQL 1205) or a busy
	// database (SQLite SQLITE_BUSY, SQLITE_LOCKED). Inside a transaction
	// retry the whole transaction (InTx again), never the one statement: the
	// transaction is rolled back. A context that ended is not retryable.
	ErrRetryable = errors.New("tenantmap: retryable failure")
	// ErrCommitUnknown: the connection was lost while a commit was in
	// flight, so the transaction may or may not have committed. It does not
	// match ErrRetryable: run the transaction again only if doing it twice
	// is harmless, or check first whether its writes are there.
	ErrCommitUnknown = errors.New("tenantmap: commit outcome unknown")
	// ErrDuplicateKey: a write broke a primary key or unique constraint
	// (PostgreSQL 23505, MySQL 1062, SQLite SQLITE_CONSTRAINT_UNIQUE and
	// SQLITE_CONSTRAINT_PRIMARYKEY).
	ErrDuplicateKey = errors.New("tenantmap: duplicate key")
	// ErrForeignKey: a write broke a foreign key (PostgreSQL 23503, MySQL
	// 1451 and 1452, SQLite SQLITE_CONSTRAINT_FOREIGNKEY).
	ErrForeignKey = errors.New("tenantmap: foreign key violation")
)

// Is matches e against the error classes of its cause (ErrRetryable,
// ErrCommitUnknown, ErrDuplicateKey, ErrForeignKey); anything else is
// matched through Unwrap.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrRetryable:
		return isRetryable(e.Err)
	case ErrDuplicateKey:
		return isUniqueViolation(e.Err)
	case ErrForeignKey:
		return isForeignKeyViolation(e.Err)
	}
	return false
}

// commitUnknown marks a commit whose connection was lost in flight.
type commitUnknown struct{ err error }

func (c *commitUnknown) Error() string {
	return "commit outcome unknown (the connection was lost during COMMIT; check whether the transaction's writes are there before running it again): " + c.err.Error()
}
func (c *commitUnknown) Unwrap() error        { return c.err }
func (c *commitUnknown) Is(target error) bool { return target == ErrCommitUnknown }

// commitError classifies the error of a COMMIT: a lost connection that may
// have carried the COMMIT to the server leaves the outcome unknown; a
// failure the driver knows happened before anything was sent, or the
// server's own refusal (a serialization failure at commit, say), is
// returned as it is.
func commitError(err error) error {
	if err == nil || !isConnectionLost(err) || sentNothing(err) {
		return err
	}
	return &commitUnknown{err: err}
}

// sentNothing reports a driver error that says the statement never left
// the client: pgconn's SafeToRetry, database/sql's ErrBadConn (which a
// driver may return only when the server cannot have run the statement).
func sentNothing(err error) bool {
	return pgconn.SafeToRetry(err) || errors.Is(err, driver.ErrBadConn)
}

func isRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var cu *commitUnknown
	if errors.As(err, &cu) {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "40001", "40P01":
			return true
		}
	}
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		switch my.Number {
		case 1213, 1205:
			return true
		}
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() & 0xff { // SQLite's primary result code
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return true
		}
	}
	return isConnectionLost(err)
}

// isConnectionLost reports an error that says the connection to the server
// broke or the server is going away.
func isConnectionLost(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case len(pg.Code) == 5 && pg.Code[:2] == "08": // connection_exception
			return true
		case pg.Code == "57P01", pg.Code == "57P02", pg.Code == "57P03":
			return true
		}
		return false
	}
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		switch my.Number {
		case 1053, 1927, 2006, 2013: // shutdown, connection killed, server gone, lost during query
			return true
		}
		return false
	}
	if pgconn.SafeToRetry(err) {
		return true
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && !ne.Timeout() {
		return true
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}

// isForeignKeyViolation reports a foreign key error from PostgreSQL
// (23503), MySQL (1451 a parent row still referenced, 1452 no parent row;
// 1216 and 1217 their older forms) or SQLite (SQLITE_CONSTRAINT_FOREIGNKEY
// 787).
func isForeignKeyViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23503"
	}
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		switch my.Number {
		case 1451, 1452, 1216, 1217:
			return true
		}
		return false
	}
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code() == 787
}
