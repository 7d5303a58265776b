package tenantmap

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// PoolerParam is the query parameter of a postgres:// URL that sets
// Config.TransactionPooler: postgres://user@host:6432/db?transaction_pooler=true.
// ParseConfig takes it out of the DSN (the server would refuse it).
const PoolerParam = "transaction_pooler"

// takePoolerParam removes PoolerParam from a postgres:// URL and returns
// its value.
func takePoolerParam(dsn string) (string, bool, error) {
	if !strings.Contains(dsn, PoolerParam) {
		return dsn, false, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn, false, nil // pgx reports it
	}
	q := u.Query()
	v, ok := q[PoolerParam]
	if !ok {
		return dsn, false, nil
	}
	on, err := strconv.ParseBool(v[len(v)-1])
	if err != nil {
		return "", false, fmt.Errorf("%w: %s=%q: want true or false", ErrInvalidURL, PoolerParam, v[len(v)-1])
	}
	q.Del(PoolerParam)
	u.RawQuery = q.Encode()
	return u.String(), on, nil
}

// poolerHint adds the fix to the error PostgreSQL gives when a named
// statement is prepared on a server session that has it already: a
// transaction pooler (PgBouncer) handed this client a session another
// client prepared on.
func poolerHint(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P05" && strings.Contains(pe.Message, "stmtcache_") {
		return fmt.Errorf("%w (the server session already holds this prepared statement: a transaction pooler such as PgBouncer is in between; add %s=true to the URL or set Config.TransactionPooler)", err, PoolerParam)
	}
	return err
}
