package tenantmap

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestErrorClasses covers the causes the server tests cannot easily
// produce (a server shutting down, a driver's broken connection) and what
// must never be retryable.
func TestErrorClasses(t *testing.T) {
	for _, c := range []struct {
		cause               error
		retry, unknown, dup bool
	}{
		{&pgconn.PgError{Code: "40001"}, true, false, false},
		{&pgconn.PgError{Code: "40P01"}, true, false, false},
		{&pgconn.PgError{Code: "57P01"}, true, false, false},
		{&pgconn.PgError{Code: "57P03"}, true, false, false},
		{&pgconn.PgError{Code: "08006"}, true, false, false},
		{&pgconn.PgError{Code: "23505"}, false, false, true},
		{&pgconn.PgError{Code: "42P01"}, false, false, false},
		{&mysql.MySQLError{Number: 1213}, true, false, false},
		{&mysql.MySQLError{Number: 1205}, true, false, false},
		{&mysql.MySQLError{Number: 1053}, true, false, false},
		{&mysql.MySQLError{Number: 1062}, false, false, true},
		{mysql.ErrInvalidConn, true, false, false},
		{driver.ErrBadConn, true, false, false},
		{fmt.Errorf("read: %w", io.EOF), true, false, false},
		{context.DeadlineExceeded, false, false, false},
		{fmt.Errorf("timeout: %w", context.Canceled), false, false, false},
		{commitError(&pgconn.PgError{Code: "57P01"}), false, true, false},
		{commitError(mysql.ErrInvalidConn), false, true, false},
		{commitError(driver.ErrBadConn), true, false, false}, // nothing was sent
		{commitError(&pgconn.PgError{Code: "40001"}), true, false, false},
		{errors.New("syntax error"), false, false, false},
	} {
		err := opError("transaction", "acme", "", c.cause)
		if got := errors.Is(err, ErrRetryable); got != c.retry {
			t.Errorf("%v: ErrRetryable %v, want %v", c.cause, got, c.retry)
		}
		if got := errors.Is(err, ErrCommitUnknown); got != c.unknown {
			t.Errorf("%v: ErrCommitUnknown %v, want %v", c.cause, got, c.unknown)
		}
		if got := errors.Is(err, ErrDuplicateKey); got != c.dup {
			t.Errorf("%v: ErrDuplicateKey %v, want %v", c.cause, got, c.dup)
		}
	}
}
