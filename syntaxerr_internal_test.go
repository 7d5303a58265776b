package tenantmap

import (
	"errors"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestMalformedStatementCodes pins which driver errors are ErrInvalidQuery:
// the servers' own errors for the classes are in TestMalformedStatementIsInvalidQuery;
// this covers the codes a test cannot easily provoke and those that must stay out.
func TestMalformedStatementCodes(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "42601"}, true},  // syntax_error
		{&pgconn.PgError{Code: "42703"}, true},  // undefined_column
		{&pgconn.PgError{Code: "42883"}, true},  // undefined_function
		{&pgconn.PgError{Code: "42804"}, true},  // datatype_mismatch
		{&pgconn.PgError{Code: "42501"}, false}, // insufficient_privilege
		{&pgconn.PgError{Code: "42P01"}, false}, // undefined_table: the tenant's table may be going
		{&pgconn.PgError{Code: "42P07"}, false}, // duplicate_table
		{&pgconn.PgError{Code: "23505"}, false}, // unique_violation
		{&pgconn.PgError{Code: "22012"}, false}, // division_by_zero
		{&pgconn.PgError{Code: "40001"}, false}, // serialization_failure
		{&mysql.MySQLError{Number: 1064}, true},
		{&mysql.MySQLError{Number: 1054}, true},
		{&mysql.MySQLError{Number: 1146}, false},        // no such table
		{&mysql.MySQLError{Number: 1062}, false},        // duplicate entry
		{&mysql.MySQLError{Number: 1213}, false},        // deadlock
		{errors.New("near \"x\": syntax error"), false}, // no SQLite code: not a database's error
		{nil, false},
	} {
		err := invalidStatement(c.err)
		if got := errors.Is(err, ErrInvalidQuery); got != c.want {
			t.Errorf("%v: ErrInvalidQuery %v, want %v", c.err, got, c.want)
		}
		if c.err != nil && !errors.Is(err, c.err) {
			t.Errorf("%v: the driver's error is lost: %v", c.err, err)
		}
	}
}
