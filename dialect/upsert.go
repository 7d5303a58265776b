package dialect

// Upserter is implemented by every dialect of this module: the clause that
// follows an INSERT's VALUES to say what happens when the new row conflicts
// with an existing one. It is an interface of its own, found by a type
// assertion, so that a dialect from elsewhere that lacks it still works for
// everything but upserts.
type Upserter interface {
	// AppendOnConflictNothing appends the clause that leaves the existing
	// row as it is. target holds the quoted columns of the key or unique
	// index the conflict is over; key is the quoted key column. Where the
	// target is not enforced (ON DUPLICATE KEY), the clause makes the statement's last insert id -1 when it leaves a row in place,
	// since the rows affected cannot tell (MySQL with CLIENT_FOUND_ROWS
	// counts a row found as one affected).
	AppendOnConflictNothing(b []byte, target []string, key string) []byte
	// AppendOnConflictUpdate appends the start of the clause that updates
	// the existing row; assignments (col = expr, …) follow it. autoKey is
	// the quoted generated key column, "" where the key is set by the
	// caller: where the target is not enforced (ON DUPLICATE KEY, whose
	// RETURNING, on MariaDB, does not return updated rows), the clause makes
	// the last insert id the updated row's key.
	AppendOnConflictUpdate(b []byte, target []string, autoKey string) []byte
	// AppendInserted appends the value the INSERT proposed for the quoted
	// column col, for use in the assignments (EXCLUDED.col, VALUES(col)).
	AppendInserted(b []byte, col string) []byte
	// ConflictTargetEnforced reports whether the database limits the clause
	// to a conflict over target (ON CONFLICT (…)); where it does not (MySQL's
	// ON DUPLICATE KEY), a conflict over any unique index triggers it.
	ConflictTargetEnforced() bool
}

// AppendOnConflictTarget appends " ON CONFLICT (target…) DO ", the form
// PostgreSQL and SQLite share.
func AppendOnConflictTarget(b []byte, target []string) []byte {
	b = append(b, " ON CONFLICT ("...)
	for i, c := range target {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, c...)
	}
	return append(b, ") DO "...)
}
