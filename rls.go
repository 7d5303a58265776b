package tenantmap

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/tenantmap/tenantmap/dialect"
)

// ErrRowSecurity: row-level security was asked for where it would not
// protect anything: on a database other than PostgreSQL, or for a role that
// bypasses it (a superuser, or a role with BYPASSRLS).
var ErrRowSecurity = errors.New("tenantmap: row-level security would not apply")

// RowSecuritySetting is the PostgreSQL setting that row-level security
// policies read the current tenant from. tenantmap sets it per transaction
// (set_config(…, true)), in the same round trip as the statement, so it is
// never left on a pooled connection.
const RowSecuritySetting = "tenantmap.tenant"

// RowSecurityPolicy is the name of the policy tenantmap puts on each shared
// table when Config.RowLevelSecurity is on.
const RowSecurityPolicy = "tenantmap_tenant"

const setTenantSQL = "SELECT set_config('" + RowSecuritySetting + "', $1, true)"

// rlsDDL renders the row-level security of a shared table: enabled, forced
// on the table's owner too, and a policy that shows and accepts only the
// rows of the tenant the transaction names. Idempotent.
func (db *DB) rlsDDL(mp *mapping) []string {
	if !db.cfg.RowLevelSecurity || !mp.shared {
		return nil
	}
	pol := dialect.Quote(db.dialect, RowSecurityPolicy)
	cond := "(" + dialect.Quote(db.dialect, TenantColumn) + " = current_setting('" + RowSecuritySetting + "', true))"
	return []string{
		"ALTER TABLE " + mp.qtable + " ENABLE ROW LEVEL SECURITY",
		"ALTER TABLE " + mp.qtable + " FORCE ROW LEVEL SECURITY",
		"DROP POLICY IF EXISTS " + pol + " ON " + mp.qtable,
		"CREATE POLICY " + pol + " ON " + mp.qtable + " USING " + cond + " WITH CHECK " + cond,
	}
}

// ensureRowSecurity gives every shared table the catalog records its
// row-level security, if it lacks it: a table made by a handle without
// Config.RowLevelSecurity gets it when the first handle with it opens.
// Tables that have it are not touched (the DDL would lock them).
func (db *DB) ensureRowSecurity(ctx context.Context) error {
	if !db.cfg.RowLevelSecurity {
		return nil
	}
	shared, err := db.cat.sharedTables(ctx, db.be)
	if err != nil {
		return err
	}
	for _, p := range shared {
		mp := &mapping{shared: true, schema: p.schema, table: p.table, qtable: qualifiedIdent(db.dialect, p.schema, p.table)}
		var ok bool
		err := db.be.queryRow(ctx, `SELECT c.relrowsecurity AND c.relforcerowsecurity AND EXISTS (
			SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = $2)
			FROM pg_class c WHERE c.oid = to_regclass($1)`, mp.qtable, RowSecurityPolicy).Scan(&ok)
		if isNoRows(err) {
			continue // recorded but not there: Create makes it, with its policy
		}
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		err = inTx(ctx, db.be, func(tx querier) error {
			if _, err := tx.exec(ctx, db.cat.lockSQL); err != nil {
				return err
			}
			for _, s := range db.rlsDDL(mp) {
				if _, err := tx.exec(ctx, s); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("%w: shared table %s has no row-level security policy, and adding it failed (the role must own the table): %w", ErrRowSecurity, mp.qtable, err)
		}
	}
	return nil
}

// checkRowSecurity refuses row-level security where it would silently not
// apply.
func (db *DB) checkRowSecurity(ctx context.Context) error {
	if !db.cfg.RowLevelSecurity {
		return nil
	}
	if db.dialect.Name() != "postgres" {
		return fmt.Errorf("%w: Config.RowLevelSecurity needs PostgreSQL, not %s", ErrRowSecurity, db.dialect.Name())
	}
	var role string
	var bypass bool
	err := db.be.queryRow(ctx, "SELECT current_user, rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user").Scan(&role, &bypass)
	if err != nil {
		return err
	}
	if bypass {
		return fmt.Errorf("%w: role %q is a superuser or has BYPASSRLS, so PostgreSQL would not apply the policies; connect as a role without them", ErrRowSecurity, role)
	}
	return nil
}

// batcher sends several statements in one round trip; in one implicit
// transaction, so set_config(…, true) holds for the statements after it.
type batcher interface {
	sendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

func (b *pgxBackend) sendBatch(ctx context.Context, batch *pgx.Batch) pgx.BatchResults {
	return b.q.SendBatch(ctx, batch)
}

func (s *affineShard) sendBatch(ctx context.Context, batch *pgx.Batch) pgx.BatchResults {
	s.busy.Add(1)
	return &affineBatch{BatchResults: s.pgxBackend.sendBatch(ctx, batch), busy: &s.busy}
}

// affineBatch releases its shard when closed.
type affineBatch struct {
	pgx.BatchResults
	busy *atomic.Int32
	done bool
}

func (b *affineBatch) Close() error {
	if !b.done {
		b.done = true
		defer b.busy.Add(-1)
	}
	return b.BatchResults.Close()
}

// rlsBackend runs every statement of one tenant with RowSecuritySetting set
// to it: the setting and the statement go in one batch.
type rlsBackend struct {
	inner  backend // a pgx pool or shard; also a batcher
	tenant string
}

func (r *rlsBackend) batch(ctx context.Context, sql string, args []any) pgx.BatchResults {
	return r.inner.(batcher).sendBatch(ctx, tenantBatch(r.tenant, sql, args))
}

// tenantBatch is set_config for the tenant and the statement, to be sent
// in one round trip.
func tenantBatch(tenant, sql string, args []any) *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue(setTenantSQL, tenant)
	b.Queue(sql, args...)
	return b
}

func (r *rlsBackend) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	return batchExec(r.batch(ctx, sql, args))
}

func (r *rlsBackend) query(ctx context.Context, sql string, args ...any) (rows, error) {
	return batchQuery(r.batch(ctx, sql, args))
}

func (r *rlsBackend) queryRow(ctx context.Context, sql string, args ...any) row {
	return &batchRow{br: r.batch(ctx, sql, args)}
}

func (r *rlsBackend) begin(ctx context.Context) (txBackend, error) {
	tx, err := r.inner.begin(ctx)
	if err != nil {
		return nil, err
	}
	return &rlsTx{txBackend: tx, tenant: r.tenant, pending: true}, nil
}

func (r *rlsBackend) close() {}

// batchExec reads a batch of set_config and one statement.
func batchExec(br pgx.BatchResults) (int64, error) {
	if _, err := br.Exec(); err != nil {
		return 0, errors.Join(err, br.Close())
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag.RowsAffected(), err
}

func batchQuery(br pgx.BatchResults) (rows, error) {
	if _, err := br.Exec(); err != nil {
		return nil, errors.Join(err, br.Close())
	}
	r, err := br.Query()
	if err != nil {
		return nil, errors.Join(err, br.Close())
	}
	return &batchRows{Rows: r, br: br}, nil
}

// batchRows closes its batch, releasing the connection, when the rows are
// closed or read to the end.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.Rows.Close()
	r.err = r.br.Close()
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

type batchRow struct{ br pgx.BatchResults }

func (r *batchRow) Scan(dest ...any) error {
	if _, err := r.br.Exec(); err != nil {
		return errors.Join(err, r.br.Close())
	}
	err := r.br.QueryRow().Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// rlsTx is a transaction of one tenant under row-level security: its first
// statement goes in one batch with set_config(…, true), which then holds
// until the transaction ends.
type rlsTx struct {
	txBackend
	tenant  string
	pending bool
}

// execScript runs tenantmap's own DDL; the tenant is set first if no
// statement has set it yet.
func (t *rlsTx) execScript(ctx context.Context, script string) error {
	if t.pending {
		if _, err := t.exec(ctx, "SELECT 1"); err != nil {
			return err
		}
	}
	return scriptOn(ctx, t.txBackend, script)
}

func (t *rlsTx) batch(ctx context.Context, sql string, args []any) pgx.BatchResults {
	t.pending = false // if the batch fails, so does the transaction
	return t.txBackend.(batcher).sendBatch(ctx, tenantBatch(t.tenant, sql, args))
}

func (t *rlsTx) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	if t.pending {
		return batchExec(t.batch(ctx, sql, args))
	}
	return t.txBackend.exec(ctx, sql, args...)
}

func (t *rlsTx) query(ctx context.Context, sql string, args ...any) (rows, error) {
	if t.pending {
		return batchQuery(t.batch(ctx, sql, args))
	}
	return t.txBackend.query(ctx, sql, args...)
}

func (t *rlsTx) queryRow(ctx context.Context, sql string, args ...any) row {
	if t.pending {
		return &batchRow{br: t.batch(ctx, sql, args)}
	}
	return t.txBackend.queryRow(ctx, sql, args...)
}
