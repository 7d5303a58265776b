package tenantmap

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// invalidStatement returns err as ErrInvalidQuery when the database refused
// the statement's text itself: it does not parse, or it uses a column,
// function or operator that does not exist, or types that do not fit. The
// driver's error stays reachable (errors.As finds *pgconn.PgError,
// *mysql.MySQLError or SQLite's error), so its position and detail are not
// lost. Any other error, and nil, is returned unchanged.
//
// A missing table is left out on purpose: a tenant's table can be missing
// because the tenant is being dropped or moved, which is not the
// statement's fault.
func invalidStatement(err error) error {
	if err == nil || errors.Is(err, ErrInvalidQuery) || !isMalformedStatement(err) {
		return err
	}
	return fmt.Errorf("%w: the database refused the statement's SQL; correct it (the server says: %w)", ErrInvalidQuery, err)
}

// isMalformedStatement reports whether err is a database's error for SQL
// text that cannot run whatever the data: a syntax error, or a name or type
// the statement uses wrongly.
func isMalformedStatement(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pgMalformed(pg.Code)
	}
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		return mysqlMalformed[my.Number]
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) && coded.Code()&0xff == 1 { // SQLITE_ERROR, the code of every compile error
		msg := err.Error()
		for _, s := range sqliteMalformed {
			if strings.Contains(msg, s) {
				return true
			}
		}
	}
	return false
}

// pgMalformed reports the SQLSTATEs of class 42 (syntax error or access
// rule violation) that say the statement's text is wrong. Left out:
// insufficient_privilege (42501, ErrPermissionDenied's), the duplicate_*
// codes (an object exists already: a name conflict, not a malformed
// statement) and undefined_table (42P01; see invalidStatement).
func pgMalformed(code string) bool {
	if len(code) != 5 || code[:2] != "42" {
		return false
	}
	switch code {
	case "42501", // insufficient_privilege
		"42P01",                            // undefined_table
		"42701", "42P03", "42P04", "42723", // duplicate column, cursor, database, function
		"42P05", "42P06", "42P07", "42712", // duplicate prepared statement, schema, table, alias
		"42710": // duplicate_object
		return false
	}
	return true
}

// mysqlMalformed are MySQL's and MariaDB's error numbers for a statement
// whose text is wrong.
var mysqlMalformed = map[uint16]bool{
	1064: true, // ER_PARSE_ERROR: "You have an error in your SQL syntax"
	1149: true, // ER_SYNTAX_ERROR
	1054: true, // ER_BAD_FIELD_ERROR: unknown column
	1052: true, // ER_NON_UNIQ_ERROR: ambiguous column
	1066: true, // ER_NONUNIQ_TABLE: a table or alias named twice
	1111: true, // ER_INVALID_GROUP_FUNC_USE
	1222: true, // ER_WRONG_NUMBER_OF_COLUMNS_IN_SELECT
	1241: true, // ER_OPERAND_COLUMNS
	1248: true, // ER_DERIVED_MUST_HAVE_ALIAS
	1305: true, // ER_SP_DOES_NOT_EXIST: no such function
	1582: true, // ER_WRONG_PARAMCOUNT_TO_NATIVE_FCT
	1583: true, // ER_WRONG_PARAMETERS_TO_NATIVE_FCT
	1630: true, // ER_FUNC_INEXISTENT_NAME_COLLISION
}

// sqliteMalformed are the messages SQLite gives, with SQLITE_ERROR, for a
// statement it cannot compile; it has no code of its own for them.
var sqliteMalformed = []string{
	"syntax error",
	"incomplete input",
	"unrecognized token",
	"no such column",
	"no such function",
	"ambiguous column name",
	"wrong number of arguments to function",
	"misuse of aggregate",
	"row value misused",
	"sub-select returns",
}
