package tenantmap

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tenantmap/tenantmap/dialect"
)

// ErrMigrationFailed: Migrate could not bring every tenant it was asked to
// the target version. Its report says which failed and why; every tenant
// is at its old version or the new one, and running Migrate again finishes
// the rest.
var ErrMigrationFailed = errors.New("tenantmap: migration failed")

// MigrateOptions says which tenants Migrate brings to which version, and how.
type MigrateOptions struct {
	// Target is the version to reach; 0 means the latest migration.
	Target int64
	// Tenants limits the run to these tenants; nil means every tenant that
	// is not dropped (suspended tenants are migrated too).
	Tenants []string
	// Parallel is how many tenants are migrated at once (DefaultMigrateParallel if 0).
	Parallel int
	// DryRun plans the run without changing anything: the report lists each
	// tenant's and shared table's statements.
	DryRun bool
	// Canary migrates this many tenants (the first in id order) before the
	// others, and stops if any of them fails.
	Canary int
	// StopOnError starts no tenant after the first failure; the tenants
	// already running finish. By default a failing tenant is reported and
	// the others go on.
	StopOnError bool
	// Progress, if set, is called after each tenant, one call at a time.
	Progress func(MigrateProgress)
}

// DefaultMigrateParallel is how many tenants Migrate migrates at once unless
// MigrateOptions.Parallel says otherwise.
const DefaultMigrateParallel = 4

// MigrateProgress is what Migrate reports after each tenant. A run goes
// through the tenants once, or, where shared tables change on the way,
// once for each version whose shared-table steps must wait for every
// tenant to reach the version before: Done and Total count the tenants of
// the current pass, which brings them to Version.
type MigrateProgress struct {
	Version             int64
	Done, Total, Failed int
	Tenant              string
	Result              MigrateResult
	Elapsed             time.Duration // since this pass over the tenants began
}

// MigrateResult is what a run did for one tenant or shared table.
type MigrateResult string

// The results of a tenant's or shared table's migration.
const (
	// ResultMigrated: brought to the target version by this run.
	ResultMigrated MigrateResult = "migrated"
	// ResultCurrent: at the target already (another runner may have
	// migrated it while this run waited; TenantMigration.ByOther says so).
	ResultCurrent MigrateResult = "current"
	// ResultFailed: left at its old version; Err says why.
	ResultFailed MigrateResult = "failed"
	// ResultSkipped: not attempted (the run stopped, or was cancelled, first).
	ResultSkipped MigrateResult = "skipped"
	// ResultPlanned: a dry run's plan.
	ResultPlanned MigrateResult = "planned"
)

// TenantMigration is what a run did for one tenant.
type TenantMigration struct {
	Tenant     string
	From, To   int64
	Result     MigrateResult
	ByOther    bool     // another runner migrated it while this one waited
	Err        error    // why it failed, or was skipped
	Statements []string // a dry run's statements (and "-- " lines for Go steps)
	Elapsed    time.Duration
}

// SharedMigration is what a run did for one shared table, which is migrated
// once for all its tenants.
type SharedMigration struct {
	Model, Table string
	From, To     int64
	Result       MigrateResult
	Err          error
	Statements   []string
}

// MigrateReport is the outcome of a Migrate run.
type MigrateReport struct {
	Target  int64
	DryRun  bool
	Shared  []SharedMigration
	Tenants []TenantMigration // in id order
	Elapsed time.Duration
}

// Count returns how many tenants ended with result r.
func (r *MigrateReport) Count(res MigrateResult) int {
	n := 0
	for _, t := range r.Tenants {
		if t.Result == res {
			n++
		}
	}
	return n
}

// maxPendingFilter is the most tenants MigrateOptions.Tenants may name for
// the pending query to read only those; a longer list is filtered after
// reading all.
const maxPendingFilter = 1000

// errLocked: another runner holds the tenant's migration lock.
var errLocked = errors.New("tenantmap: another runner is migrating it")

// pendingTarget is a tenant or shared table below the target, as the
// catalog's one pending query lists it.
type pendingTarget struct {
	shared        bool
	id            string // tenant id, or a shared table's schema
	table         string // shared table
	version, step int64

	// A tenant's key (a shared table's model), its placement override and its placements, as the
	// pending query read them: enough to plan its migration.
	key, placement string
	placements     map[string]placement
}

// Migrate brings tenants to a migration version (the latest by default)
// with bounded parallelism, each tenant in one transaction where the
// database has transactional DDL (PostgreSQL, SQLite) and step by step,
// each step recorded, where it has not (MySQL). A lock per tenant keeps two
// runners from migrating one tenant at once; two runners on one catalog
// share the tenants between them, and each reports the ones the other did
// as current. A shared table is migrated once for all its tenants, before
// their own steps of the same version. A run with nothing to do reads the
// catalog in one query and touches no tenant.
//
// If the run could not bring every tenant to the target, the report says
// which and the error wraps ErrMigrationFailed. A run cut short (a cancelled
// context, a killed process) leaves every tenant at its old version or the
// new one — on MySQL at the last step recorded — and running Migrate again
// finishes the rest.
func (db *DB) Migrate(ctx context.Context, o MigrateOptions) (*MigrateReport, error) {
	start := time.Now()
	migs := db.migrations()
	target := o.Target
	if target == 0 {
		target = migs.latest()
	}
	rep := &MigrateReport{Target: target, DryRun: o.DryRun}
	if target != 0 && !migs.has(target) {
		return rep, opError("migrate", "", "", fmt.Errorf("%w: no migration has version %d", ErrInvalidMigration, target))
	}
	if err := db.checkMigrations(migs); err != nil {
		return rep, opError("migrate", "", "", err)
	}
	pending, err := db.cat.pendingTargets(ctx, db.be, target, o.Tenants)
	if err != nil {
		return rep, opError("migrate", "", "", err)
	}
	var tenants []pendingTarget
	var shared []pendingTarget
	for _, p := range pending {
		if p.shared {
			shared = append(shared, p)
		} else {
			tenants = append(tenants, p)
		}
	}
	if o.Tenants != nil {
		if tenants, err = db.selectTenants(ctx, tenants, o.Tenants, target, rep); err != nil {
			return rep, opError("migrate", "", "", err)
		}
	}
	r := &migrationRun{db: db, o: o, migs: migs, rep: rep, start: start, total: len(tenants)}
	if r.o.Parallel <= 0 {
		r.o.Parallel = DefaultMigrateParallel
	}
	var stop func()
	if !o.DryRun {
		stop = db.announce(ctx)
	}
	err = r.run(ctx, tenants, shared, target)
	if stop != nil {
		stop()
	}
	slices.SortFunc(rep.Tenants, func(a, b TenantMigration) int { return strings.Compare(a.Tenant, b.Tenant) })
	rep.Elapsed = time.Since(start)
	if err == nil && (rep.Count(ResultFailed) > 0 || rep.Count(ResultSkipped) > 0) {
		err = fmt.Errorf("%w: %d of %d tenants failed, %d not attempted", ErrMigrationFailed, rep.Count(ResultFailed), len(rep.Tenants), rep.Count(ResultSkipped))
	}
	for _, s := range rep.Shared {
		if err == nil && s.Result == ResultFailed {
			err = fmt.Errorf("%w: shared table %s: %w", ErrMigrationFailed, s.Table, s.Err)
		}
	}
	return rep, opError("migrate", "", "", err)
}

// selectTenants keeps the pending tenants a run was limited to, and
// reports the others it names: current, or failed if there is no such
// tenant.
func (db *DB) selectTenants(ctx context.Context, pending []pendingTarget, ids []string, target int64, rep *MigrateReport) ([]pendingTarget, error) {
	byID := map[string]pendingTarget{}
	for _, p := range pending {
		byID[p.id] = p
	}
	var out []pendingTarget
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if p, ok := byID[id]; ok {
			out = append(out, p)
			continue
		}
		res := TenantMigration{Tenant: id, To: target}
		if err := ValidateTenantID(id); err != nil {
			res.Result, res.Err = ResultFailed, err
		} else if t, err := db.cat.get(ctx, db.be, id); err != nil {
			if !errors.Is(err, ErrTenantNotFound) {
				return nil, err
			}
			res.Result, res.Err = ResultFailed, err
		} else if t.Status == StatusDropped {
			res.From, res.Result, res.Err = t.MigrationVersion, ResultSkipped, fmt.Errorf("%w: %q is dropped", ErrTenantNotFound, id)
		} else {
			res.From, res.Result = t.MigrationVersion, ResultCurrent
		}
		rep.Tenants = append(rep.Tenants, res)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out, nil
}

// checkMigrations checks the migrations against the registered models:
// every step names a registered model, and columns it takes from a model
// exist there.
func (db *DB) checkMigrations(migs *migrationSet) error {
	var errs []error
	for _, m := range migs.list {
		for i, s := range m.Steps {
			name := stepModel(s)
			if name == "" {
				continue
			}
			b := db.bindingNamed(name)
			if b == nil {
				errs = append(errs, fmt.Errorf("migration %d, step %d (%v): no model %q is registered", m.Version, i+1, s, name))
				continue
			}
			var col Column
			switch s := s.(type) {
			case *addColumnStep:
				col = s.col
			case *alterTypeStep:
				col = s.col
			default:
				continue
			}
			c, err := columnOf(b.model, col)
			if err == nil {
				_, err = columnDDL(db.dialect, c)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("migration %d, step %d (%v): %w", m.Version, i+1, s, err))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidMigration, errors.Join(errs...))
	}
	return nil
}

// pendingTargets reads, in one query, every tenant (not dropped) and
// shared table whose migration version is below target, or whose last
// migration stopped part way.
//
// only, if it names at most maxPendingFilter tenants, limits the tenants
// read to those.
func (c *catalog) pendingTargets(ctx context.Context, q querier, target int64, only []string) ([]pendingTarget, error) {
	stmt, args := c.pendingSQL, []any{target, target}
	if len(only) > 0 && len(only) <= maxPendingFilter {
		// … WHERE (…) AND t.status <> 'dropped' AND t.id IN (…) UNION ALL …
		head, tail, _ := strings.Cut(stmt, " UNION ALL ")
		b := []byte(head + " AND t." + dialect.Quote(c.d, "id") + " IN (")
		args = []any{target}
		for i, id := range only {
			if i > 0 {
				b = append(b, ',')
			}
			args = append(args, id)
			b = c.d.AppendPlaceholder(b, len(args))
		}
		args = append(args, target)
		// The shared part's placeholder is the last one now.
		tail = strings.Replace(tail, string(c.d.AppendPlaceholder(nil, 2)), string(c.d.AppendPlaceholder(nil, len(args))), 1)
		stmt = string(b) + ") UNION ALL " + tail
	}
	r, err := q.query(ctx, stmt, args...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []pendingTarget
	for r.Next() {
		var kind string
		var p pendingTarget
		var model, strategy, database, schema, table *string
		if err := r.Scan(&kind, &p.id, &p.table, &p.version, &p.step, &p.key, &p.placement, &model, &strategy, &database, &schema, &table); err != nil {
			return nil, err
		}
		p.shared = kind == "s"
		if n := len(out); n > 0 && !p.shared && !out[n-1].shared && out[n-1].id == p.id {
			p = out[n-1] // another placement of the same tenant
			out = out[:n-1]
		}
		if model != nil {
			if p.placements == nil {
				p.placements = map[string]placement{}
			}
			p.placements[*model] = placement{kind: kindNamed(*strategy), database: *database, schema: *schema, table: *table}
		}
		out = append(out, p)
	}
	return out, r.Err()
}

// migrationRun is one Migrate call.
type migrationRun struct {
	db    *DB
	o     MigrateOptions
	migs  *migrationSet
	start time.Time

	mu                  sync.Mutex
	rep                 *MigrateReport
	done, failed, total int       // in the current segment
	version             int64     // the current segment's target
	passStart           time.Time // when the current segment's pass over the tenants began
	stopped             bool
}

// reportShared merges a shared table's result into the report: one entry
// per table, from its first version to its last.
func (r *migrationRun) reportShared(res SharedMigration) {
	for i, s := range r.rep.Shared {
		if s.Table == res.Table {
			res.From = s.From
			res.Statements = append(s.Statements, res.Statements...)
			if s.Result == ResultMigrated && res.Result == ResultCurrent {
				res.Result = ResultMigrated
			}
			r.rep.Shared[i] = res
			return
		}
	}
	r.rep.Shared = append(r.rep.Shared, res)
}

// run migrates in segments: a version with a step on a shared table
// starts a new one, whose shared steps run once every tenant has reached
// the version before it. Usually there is one segment.
func (r *migrationRun) run(ctx context.Context, tenants, shared []pendingTarget, target int64) error {
	low := target
	for _, t := range tenants {
		low = min(low, t.version)
	}
	for _, s := range shared {
		low = min(low, s.version)
	}
	var ends []int64
	for _, m := range r.migs.between(low+1, target) {
		if r.o.DryRun {
			break // a plan changes nothing, so it has one segment
		}
		for _, s := range shared {
			if s.version < m.Version && r.sharedSteps(m, s) {
				if m.Version-1 > low {
					ends = append(ends, m.Version-1)
				}
				break
			}
		}
	}
	ends = append(ends, target)
	from := map[string]int64{}
	for _, t := range tenants {
		from[t.id] = t.version
	}
	final := map[string]TenantMigration{}
	defer func() {
		for _, res := range final {
			res.From = from[res.Tenant]
			r.rep.Tenants = append(r.rep.Tenants, res)
		}
	}()
	var capped error
	for i, to := range ends {
		last := i == len(ends)-1
		for j := range shared {
			s := &shared[j]
			if s.version >= to && s.step == 0 {
				continue
			}
			res := r.migrateShared(ctx, s, to)
			r.reportShared(res)
			if res.Result == ResultFailed {
				r.skipRest(tenants, final, target, fmt.Errorf("shared table %s failed: %w", res.Table, res.Err))
				return nil
			}
			s.version, s.step = res.To, 0
			if res.To < to {
				// Tenants outside this run are behind: this run's tenants go
				// no further than the table.
				to, capped = res.To, fmt.Errorf("shared table %s: %w", res.Table, res.Err)
			}
		}
		var due []pendingTarget
		for _, t := range tenants {
			if t.version < to || t.step > 0 {
				due = append(due, t)
			}
		}
		canary := 0
		if i == 0 {
			canary = r.o.Canary
		}
		r.mu.Lock()
		r.done, r.failed, r.total, r.version, r.passStart = 0, 0, len(due), to, time.Now()
		r.mu.Unlock()
		results := r.migrateTenants(ctx, due, to, canary)
		failed := false
		for k := range tenants {
			res, ok := results[tenants[k].id]
			if !ok {
				continue
			}
			final[res.Tenant] = res
			switch res.Result {
			case ResultMigrated, ResultCurrent, ResultPlanned:
				tenants[k].version, tenants[k].step = to, 0
			default:
				failed = true
			}
		}
		if err := ctx.Err(); err != nil {
			r.skipRest(tenants, final, target, err)
			return err
		}
		if capped != nil {
			r.skipRest(tenants, final, target, capped)
			return nil
		}
		if r.stopped || failed && !last {
			// A shared table's next steps wait for every tenant to reach
			// the version before them.
			r.skipRest(tenants, final, target, fmt.Errorf("the run stopped at version %d", to))
			return nil
		}
	}
	return nil
}

// skipRest reports the tenants a stopped run did not take to target and
// has no other result for.
func (r *migrationRun) skipRest(tenants []pendingTarget, final map[string]TenantMigration, target int64, why error) {
	for _, t := range tenants {
		if res, ok := final[t.id]; t.version >= target || ok && res.Result == ResultFailed {
			continue
		}
		final[t.id] = TenantMigration{Tenant: t.id, To: target, Result: ResultSkipped, Err: why}
	}
}

// sharedSteps reports whether migration m changes shared table s.
func (r *migrationRun) sharedSteps(m Migration, s pendingTarget) bool {
	model := r.sharedModel(s)
	for _, st := range m.Steps {
		if st.kind() == stepDDL && stepModel(st) == model {
			return true
		}
	}
	return false
}

// sharedModel is the model whose shared table s is, as the catalog
// records it.
func (r *migrationRun) sharedModel(s pendingTarget) string { return s.key }

// migrateTenants migrates tenants to version to with bounded parallelism:
// the canary first, then the rest; tenants another runner holds are
// retried, waiting, at the end.
func (r *migrationRun) migrateTenants(ctx context.Context, due []pendingTarget, to int64, canary int) map[string]TenantMigration {
	results := map[string]TenantMigration{}
	var deferred []pendingTarget
	pass := func(list []pendingTarget, wait bool) {
		work := make(chan pendingTarget)
		var wg sync.WaitGroup
		for w := 0; w < min(r.o.Parallel, len(list)); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for t := range work {
					r.mu.Lock()
					stop := r.stopped
					r.mu.Unlock()
					if stop || ctx.Err() != nil {
						why := ctx.Err()
						if why == nil {
							why = errors.New("the run stopped after a failure")
						}
						r.finish(results, TenantMigration{Tenant: t.id, From: t.version, To: to, Result: ResultSkipped, Err: why})
						continue
					}
					res := r.migrateOne(ctx, t, to, wait)
					if errors.Is(res.Err, errLocked) && !wait {
						r.mu.Lock()
						deferred = append(deferred, t)
						r.mu.Unlock()
						continue
					}
					r.finish(results, res)
				}
			}()
		}
		for _, t := range list {
			work <- t
		}
		close(work)
		wg.Wait()
	}
	if canary > 0 && canary < len(due) {
		pass(due[:canary], false)
		r.mu.Lock()
		failed := false
		for _, t := range due[:canary] {
			if res, ok := results[t.id]; ok && res.Result == ResultFailed {
				failed = true
			}
		}
		if failed {
			r.stopped = true
		}
		r.mu.Unlock()
		due = due[canary:]
	}
	pass(due, false)
	for len(deferred) > 0 {
		list := deferred
		deferred = nil
		pass(list, true)
	}
	return results
}

// finish records a tenant's result and reports progress.
func (r *migrationRun) finish(results map[string]TenantMigration, res TenantMigration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	results[res.Tenant] = res
	r.done++
	if res.Result == ResultFailed {
		r.failed++
		if r.o.StopOnError {
			r.stopped = true
		}
	}
	if r.o.Progress != nil {
		r.o.Progress(MigrateProgress{Version: r.version, Done: r.done, Total: r.total, Failed: r.failed, Tenant: res.Tenant, Result: res.Result, Elapsed: time.Since(r.passStart)})
	}
}

// migrateOne migrates one tenant; wait says to wait for its lock.
func (r *migrationRun) migrateOne(ctx context.Context, t pendingTarget, to int64, wait bool) TenantMigration {
	start := time.Now()
	res := TenantMigration{Tenant: t.id, From: t.version, To: to}
	var err error
	switch {
	case r.o.DryRun:
		res.Statements, err = r.plan(ctx, t.id, to)
		res.Result = ResultPlanned
	default:
		res.Result, err = r.db.migrateTenant(ctx, r.migs, t, to, wait)
		// It was below the target when the run read the catalog: found at
		// the target now, another runner migrated it.
		res.ByOther = res.Result == ResultCurrent
	}
	res.Elapsed = time.Since(start)
	if err != nil {
		res.Result, res.Err = ResultFailed, err
		if errors.Is(err, errLocked) {
			return res
		}
		if !r.o.DryRun && ctx.Err() == nil {
			// The migration rolled back; the catalog keeps why.
			_, _ = r.db.be.exec(context.WithoutCancel(ctx), r.db.cat.failedSQL, truncate(err.Error(), 2000), t.id)
		}
	}
	return res
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// planItem is one step of one tenant's migration, rendered.
type planItem struct {
	version int64
	index   int // the step's place in its migration
	last    bool
	step    Step
	mp      *mapping
	stmts   []string // DDL, run where the tenant's tables are
	checks  []string // statements run before the transaction (a shared table's shape)
	lock    bool     // take the catalog lock first (shared table creation)
	record  func(ctx context.Context, q querier) error
}

// migrationScope is a migration's view of one tenant: its catalog row and
// its mappings, read on the migration's own connection.
type migrationScope struct {
	db         *DB
	rec        tenantRecord
	q          querier              // where the catalog is read
	placements map[string]placement // by model, as the catalog records them
	cache      map[*binding]*mapping
}

func (s *migrationScope) mapping(ctx context.Context, b *binding) (*mapping, error) {
	if mp := s.cache[b]; mp != nil {
		return mp, nil
	}
	p, found := s.placements[b.model.name]
	mp, _, err := s.db.placedMapping(ctx, s.q, s.rec, b, p, found)
	if err != nil {
		return nil, err
	}
	s.cache[b] = mp
	return mp, nil
}

// planTenant renders a tenant's steps from its recorded version (and step)
// to version to.
func (db *DB) planTenant(ctx context.Context, migs *migrationSet, scope *migrationScope, to int64) ([]planItem, error) {
	rec := scope.rec
	var items []planItem
	created := map[string]bool{}
	for _, m := range migs.between(rec.MigrationVersion, to) {
		for i, s := range m.Steps {
			if m.Version == rec.MigrationVersion+1 && int64(i) < rec.step {
				continue // applied before a run was cut short (MySQL)
			}
			it := planItem{version: m.Version, index: i, last: i == len(m.Steps)-1, step: s}
			name := stepModel(s)
			var b *binding
			if name != "" {
				if b = db.bindingNamed(name); b == nil {
					return nil, fmt.Errorf("%w: migration %d: no model %q is registered", ErrInvalidMigration, m.Version, name)
				}
				if created[name] {
					continue // made at the model's latest shape by CreateTable
				}
			}
			switch s.kind() {
			case stepDDL:
				mp, err := scope.mapping(ctx, b)
				if err != nil {
					return nil, fmt.Errorf("migration %d (%v): %w", m.Version, s, err)
				}
				if mp.shared {
					continue // the shared table is migrated once, for all its tenants
				}
				it.mp = mp
				if it.stmts, err = renderDDL(db.dialect, b.model, mp, s); err != nil {
					return nil, fmt.Errorf("migration %d (%v): %w", m.Version, s, err)
				}
			case stepCreate:
				if latest := migs.latest(); to != latest {
					for _, later := range migs.between(to, latest) {
						for _, ls := range later.Steps {
							if ls.kind() == stepDDL && stepModel(ls) == name {
								return nil, fmt.Errorf("%w: migration %d creates %s at its latest shape, which migration %d changes: migrate to version %d", ErrInvalidMigration, m.Version, name, later.Version, latest)
							}
						}
					}
				}
				ok, err := db.planCreate(ctx, scope, b, m.Version, &it)
				if err != nil {
					return nil, fmt.Errorf("migration %d (%v): %w", m.Version, s, err)
				}
				if !ok {
					continue // the tenant has the table: it was made after the model was registered
				}
				created[name] = true
				delete(scope.cache, b)
			}
			items = append(items, it)
		}
	}
	return items, nil
}

// planCreate renders CreateTable for one tenant: the model's table where
// the tenant's placement puts it, and the catalog records of it. It
// reports false if the catalog records the table already.
func (db *DB) planCreate(ctx context.Context, scope *migrationScope, b *binding, version int64, it *planItem) (bool, error) {
	if _, found := scope.placements[b.model.name]; found {
		return false, nil
	}
	s, err := db.strategyFor(b, scope.rec)
	if err != nil {
		return false, err
	}
	prov, err := db.provisionDDL([]*binding{{id: b.id, model: b.model, strategy: s}}, scope.rec.Key)
	if err != nil {
		return false, err
	}
	owned, err := db.cat.objects(ctx, scope.q, scope.rec.ID)
	if err != nil {
		return false, err
	}
	has := func(kind, name string) bool {
		return slices.ContainsFunc(owned, func(o object) bool { return o.kind == kind && o.name == name })
	}
	if prov.database != "" {
		if !has("database", prov.database) {
			return false, fmt.Errorf("%w: %s would go in a database of the tenant's own, which it does not have; a migration cannot make one", ErrUnsupported, b.model.name)
		}
		it.stmts = prov.dbStmts
	} else {
		for _, st := range prov.stmts {
			if !strings.HasPrefix(st.sql, "CREATE SCHEMA ") && !strings.HasPrefix(st.sql, "CREATE DATABASE ") {
				it.stmts = append(it.stmts, st.sql)
				continue
			}
			// A namespace the tenant has already is kept.
			for _, o := range prov.objs {
				if (o.kind == "schema") && !has("schema", o.name) {
					it.stmts = append(it.stmts, st.sql)
				}
			}
		}
	}
	var objs []object
	for _, o := range prov.objs {
		if !has(o.kind, o.name) || o.kind == "table" {
			objs = append(objs, o)
		}
	}
	it.checks = prov.checks
	it.lock = len(prov.shared) > 0
	it.record = func(ctx context.Context, q querier) error {
		if err := db.cat.recordObjects(ctx, q, scope.rec.ID, objs, db.migrations().latest()); err != nil {
			return err
		}
		return db.cat.recordPlacements(ctx, q, scope.rec.ID, prov.placements)
	}
	scope.placements[b.model.name] = prov.placements[b.model.name]
	it.mp = buildMapping(db.dialect, b.model, scope.rec.ID, prov.placements[b.model.name])
	return true, nil
}

// plan renders a tenant's migration for a dry run.
func (r *migrationRun) plan(ctx context.Context, id string, to int64) ([]string, error) {
	db := r.db
	scope, err := db.migrationScope(ctx, db.be, id, false, false)
	if err != nil {
		return nil, err
	}
	items, err := db.planTenant(ctx, r.migs, scope, to)
	if err != nil {
		return nil, err
	}
	home := scope.home()
	var out []string
	for _, it := range items {
		switch s := it.step.(type) {
		case *sqlStep:
			tx := &txState{db: db, tenant: id, database: home, mig: scope}
			_, _, stmt, _, err := db.raw(context.WithValue(WithTenant(ctx, id), ctxTxKey{}, tx), s.sql, s.args)
			if err != nil {
				return nil, fmt.Errorf("migration %d (%v): %w", it.version, s, err)
			}
			out = append(out, stmt)
		case *funcStep:
			out = append(out, "-- go: "+s.name)
		default:
			out = append(out, it.stmts...)
		}
	}
	return out, nil
}

// migrateTenant migrates one tenant to version to and reports whether it
// did (ResultMigrated) or found it there (ResultCurrent). errLocked means
// another runner holds it (only when wait is false).
func (db *DB) migrateTenant(ctx context.Context, migs *migrationSet, t pendingTarget, to int64, wait bool) (MigrateResult, error) {
	id := t.id
	defer db.reg.InvalidateTenant(id)
	if db.dialect.Features()&dialect.TransactionalDDL == 0 {
		return db.migrateStepwise(ctx, migs, id, to, wait)
	}
	if db.cat.claimSQL != "" && !wait && t.step == 0 {
		if res, err, done := db.migrateClaimed(ctx, migs, t, to); done {
			return res, err
		}
	}
	if db.cat.migrationLockSQL == "" && homeOf(t.placements) != "" {
		// SQLite: a tenant with a database of its own is migrated in its
		// file's transaction; the others in one on the main file, which,
		// as its one writer, is the lock.
		scope, err := db.migrationScope(ctx, db.be, id, false, wait)
		if err != nil {
			return "", err
		}
		if home := scope.home(); home != "" {
			return db.migrateOwnDatabase(ctx, migs, scope, home, to, false)
		}
	}
	var result MigrateResult
	err := inTx(ctx, db.poolFor(id), func(tx querier) error {
		scope, err := db.migrationScope(ctx, tx, id, true, wait)
		if err != nil {
			return err
		}
		rec := scope.rec
		if rec.MigrationVersion >= to || rec.Status == StatusDropped {
			result = ResultCurrent
			return nil
		}
		if home := scope.home(); home != "" {
			// PostgreSQL: this transaction holds the catalog row's lock
			// while the tenant's database is migrated.
			result, err = db.migrateOwnDatabase(ctx, migs, scope, home, to, true)
			return err
		}
		items, err := db.planTenant(ctx, migs, scope, to)
		if err != nil {
			return err
		}
		if err := db.runChecks(ctx, tx, items); err != nil {
			return err
		}
		mctx := context.WithValue(WithTenant(ctx, id), ctxTxKey{}, &txState{db: db, tenant: id, be: tx.(txBackend), mig: scope})
		if err := db.runItems(mctx, tx, tx, items); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, db.cat.migratedSQL, to, id, to); err != nil {
			return err
		}
		result = ResultMigrated
		return nil
	})
	return result, err
}

// migrateClaimed migrates a tenant in the DB's own database as planned
// from its pending row (PostgreSQL): the transaction's first statement
// claims it — locks its catalog row and records the new version, if the
// row still says the version planned from — then the steps run, and the
// commit makes both visible at once. Four round trips, as the DDL alone
// would take. It reports done=false when the tenant needs the careful
// path: a database of its own, or a row that changed since it was read.
func (db *DB) migrateClaimed(ctx context.Context, migs *migrationSet, t pendingTarget, to int64) (MigrateResult, error, bool) {
	scope := &migrationScope{db: db, cache: map[*binding]*mapping{}, placements: t.placements,
		rec: tenantRecord{Tenant: Tenant{ID: t.id, Key: t.key, Status: StatusActive, MigrationVersion: t.version}, placement: t.placement}}
	if scope.placements == nil {
		scope.placements = map[string]placement{}
	}
	if scope.home() != "" {
		return "", nil, false
	}
	claimed := false
	err := inTx(ctx, db.poolFor(t.id), func(tx querier) error {
		n, err := tx.exec(ctx, db.cat.claimSQL, t.id, t.version, to)
		if err != nil {
			return lockError(err)
		}
		if n != 1 {
			return nil // changed since the pending query: roll back, go the careful way
		}
		claimed = true
		scope.q = tx
		items, err := db.planTenant(ctx, migs, scope, to)
		if err != nil {
			return err
		}
		if err := db.runChecks(ctx, tx, items); err != nil {
			return err
		}
		mctx := context.WithValue(WithTenant(ctx, t.id), ctxTxKey{}, &txState{db: db, tenant: t.id, be: tx.(txBackend), mig: scope})
		return db.runItems(mctx, tx, tx, items)
	})
	if err != nil {
		return "", err, true
	}
	if !claimed {
		return "", nil, false
	}
	return ResultMigrated, nil, true
}

// migrationScope reads a tenant's row and placements on q in one query;
// lock takes its row lock there (PostgreSQL), failing with errLocked if
// another runner holds it and wait is false.
func (db *DB) migrationScope(ctx context.Context, q querier, id string, lock, wait bool) (*migrationScope, error) {
	stmt := db.cat.migrationReadSQL
	if lock && db.cat.migrationLockSQL != "" {
		stmt = db.cat.migrationLockSQL
		if wait {
			stmt = db.cat.migrationWaitSQL
		}
	}
	r, err := q.query(ctx, stmt, id)
	if err != nil {
		return nil, lockError(err)
	}
	defer r.Close()
	scope := &migrationScope{db: db, q: q, cache: map[*binding]*mapping{}, placements: map[string]placement{}}
	found := false
	for r.Next() {
		var model, kind, database, schema, table *string
		if err := scanTenant(r, &scope.rec.Tenant, &scope.rec.step, &scope.rec.placement, &model, &kind, &database, &schema, &table); err != nil {
			return nil, err
		}
		found = true
		if model != nil {
			scope.placements[*model] = placement{kind: kindNamed(*kind), database: *database, schema: *schema, table: *table}
		}
	}
	if err := r.Err(); err != nil {
		return nil, lockError(err)
	}
	if !found {
		return nil, fmt.Errorf("%w: %q", ErrTenantNotFound, id)
	}
	return scope, nil
}

// lockError is errLocked for PostgreSQL's lock_not_available (FOR UPDATE
// NOWAIT on a row another transaction holds).
func lockError(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "55P03" {
		return errLocked
	}
	return err
}

// home is the tenant's own database, "" for none.
func (s *migrationScope) home() string { return homeOf(s.placements) }

// homeOf is the database of its own that placements put a tenant in, ""
// for none.
func homeOf(placements map[string]placement) string {
	for _, p := range placements {
		if p.database != "" {
			return p.database
		}
	}
	return ""
}

// runChecks runs the checks that a shared table CreateTable would join is
// the model's, on the migration's own connection q (a second one from the
// pool could wait forever while every worker holds one): in its
// transaction on PostgreSQL, under a savepoint.
func (db *DB) runChecks(ctx context.Context, q querier, items []planItem) error {
	inTx := db.dialect.Features()&dialect.Schemas != 0
	for _, it := range items {
		if it.lock && db.cat.lockSQL != "" && len(it.checks) > 0 {
			// The catalog lock first, as the step will take it: a check
			// holds a lock on the shared table that another tenant's
			// CreateTable, holding the catalog lock, may be waiting on.
			if _, err := q.exec(ctx, db.cat.lockSQL); err != nil {
				return err
			}
		}
		if err := db.checkSharedOn(ctx, q, it.checks, inTx); err != nil {
			return err
		}
	}
	return nil
}

// runItems runs a tenant's planned steps in its migration transaction.
// Consecutive steps that are DDL only go to the server as one script, in
// one round trip.
func (db *DB) runItems(ctx context.Context, tables, cat querier, items []planItem) error {
	ddlOnly := func(it planItem) bool {
		return it.stmts != nil && it.step.kind() == stepDDL && it.record == nil && !it.lock
	}
	for i := 0; i < len(items); {
		j := i
		var script []string
		for j < len(items) && ddlOnly(items[j]) {
			script = append(script, items[j].stmts...)
			j++
		}
		if j > i+1 {
			if err := execScript(ctx, tables, script); err != nil {
				first, last := items[i], items[j-1]
				return fmt.Errorf("migrations %d (step %d) to %d (step %d): %w\n\tin: %s", first.version, first.index+1, last.version, last.index+1, err, strings.Join(script, ";\n\t"))
			}
			i = j
			continue
		}
		if err := db.runItem(ctx, tables, cat, items[i]); err != nil {
			return err
		}
		i++
	}
	return nil
}

// runItem runs one planned step: its DDL or data change on tables (where
// the tenant's tables are), its catalog records on cat.
func (db *DB) runItem(ctx context.Context, tables, cat querier, it planItem) error {
	fail := func(err error) error {
		return fmt.Errorf("migration %d, step %d (%v): %w", it.version, it.index+1, it.step, err)
	}
	if it.lock && db.cat.lockSQL != "" {
		if _, err := cat.exec(ctx, db.cat.lockSQL); err != nil {
			return fail(err)
		}
	}
	for _, s := range it.stmts {
		if _, err := tables.exec(ctx, s); err != nil {
			return fail(fmt.Errorf("%w\n\tin: %s", err, s))
		}
	}
	switch s := it.step.(type) {
	case *sqlStep:
		if _, err := db.Exec(ctx, s.sql, s.args...); err != nil {
			return fail(err)
		}
	case *funcStep:
		if err := s.fn(ctx); err != nil {
			return fail(err)
		}
	}
	if it.record != nil && cat != nil {
		if err := it.record(ctx, cat); err != nil {
			return fail(err)
		}
	}
	return nil
}

// The table in a tenant's own database that records its migration version,
// in the same transaction as the migration's DDL: the catalog, in another
// database, is updated after it, and a run cut short between the two is
// finished from this record.
const localVersionTable = "tenantmap_version"

// migrateOwnDatabase migrates a tenant whose tables are in a database of
// its own (PostgreSQL, SQLite): the steps run in one transaction on the
// tenant's database with the local version record, then the catalog is
// updated — on PostgreSQL in the catalog transaction scope.q, which holds
// the tenant's row lock (inCatalogTx), on SQLite in a transaction of its
// own afterwards.
func (db *DB) migrateOwnDatabase(ctx context.Context, migs *migrationSet, scope *migrationScope, home string, to int64, inCatalogTx bool) (MigrateResult, error) {
	id, rec := scope.rec.ID, scope.rec
	if rec.MigrationVersion >= to || rec.Status == StatusDropped {
		return ResultCurrent, nil
	}
	items, err := db.planTenant(ctx, migs, scope, to)
	if err != nil {
		return "", err
	}
	if err := db.runChecks(ctx, scope.q, items); err != nil {
		return "", err
	}
	// The steps on tables in the tenant's database run there; those on its
	// tables in the DB's own database (a model placed elsewhere) run with
	// the catalog's record, below.
	var own, main []planItem
	for _, it := range items {
		if it.mp != nil && it.mp.database != home {
			main = append(main, it)
		} else {
			own = append(own, it)
		}
	}
	lt := dialect.Quote(db.dialect, localVersionTable)
	err = inTx(ctx, db.backendFor(id, home), func(tx querier) error {
		if _, err := tx.exec(ctx, "CREATE TABLE IF NOT EXISTS "+lt+" ("+dialect.Quote(db.dialect, "version")+" "+
			db.dialect.ColumnType(dialect.Column{Kind: dialect.Int64})+" NOT NULL)"); err != nil {
			return err
		}
		local := rec.MigrationVersion
		var v sql.NullInt64
		if err := tx.queryRow(ctx, "SELECT MAX("+dialect.Quote(db.dialect, "version")+") FROM "+lt).Scan(&v); err != nil {
			return err
		}
		if v.Valid && v.Int64 > local {
			local = v.Int64 // a run was cut short after this commit: finish it
		}
		mctx := context.WithValue(WithTenant(ctx, id), ctxTxKey{}, &txState{db: db, tenant: id, database: home, be: tx.(txBackend), mig: scope})
		var todo []planItem
		for _, it := range own {
			if it.version > local {
				it.record = nil // the catalog is another database's; recorded below
				todo = append(todo, it)
			}
		}
		if err := db.runItems(mctx, tx, nil, todo); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "DELETE FROM "+lt); err != nil {
			return err
		}
		// Never backwards: a run to a lower target after one cut short
		// above it leaves the database's record where its tables are.
		_, err := tx.exec(ctx, "INSERT INTO "+lt+" VALUES ("+string(db.dialect.AppendPlaceholder(nil, 1))+")", max(local, to))
		return err
	})
	if err != nil {
		return "", err
	}
	result := ResultMigrated
	record := func(cat querier) error {
		if !inCatalogTx {
			// SQLite holds no lock on the catalog meanwhile: another runner
			// may have finished the tenant while this one waited for its file.
			if rec, err := db.cat.read(ctx, cat, id); err != nil || rec.MigrationVersion >= to {
				result = ResultCurrent
				return err
			}
		}
		if err := db.runItems(ctx, cat, cat, main); err != nil {
			return err
		}
		for _, it := range own {
			if it.record != nil {
				if err := it.record(ctx, cat); err != nil {
					return err
				}
			}
		}
		_, err := cat.exec(ctx, db.cat.migratedSQL, to, id, to)
		return err
	}
	if inCatalogTx {
		err = record(scope.q)
	} else {
		err = inTx(ctx, db.be, record)
	}
	return result, err
}

// migrateStepwise migrates one tenant where DDL commits at once (MySQL),
// on one connection that holds the tenant's lock: each DDL step is applied
// unless introspection shows it was (a run cut short between the DDL and
// its record), then recorded; each data step commits with its record.
func (db *DB) migrateStepwise(ctx context.Context, migs *migrationSet, id string, to int64, wait bool) (MigrateResult, error) {
	conn, release, err := db.lockedConn(ctx, "tenant:"+id, wait)
	if err != nil {
		return "", err
	}
	defer release()
	scope, err := db.migrationScope(ctx, conn, id, false, false)
	if err != nil {
		return "", err
	}
	// At the target, or past it with a later migration part way (a run to
	// a higher target cut short): nothing to do at this target.
	if rec := scope.rec; rec.MigrationVersion >= to || rec.Status == StatusDropped {
		return ResultCurrent, nil
	}
	items, err := db.planTenant(ctx, migs, scope, to)
	if err != nil {
		return "", err
	}
	if err := db.runChecks(ctx, conn, items); err != nil {
		return "", err
	}
	for _, it := range items {
		if err := db.stepwiseItem(ctx, conn, scope, id, it); err != nil {
			return "", err
		}
	}
	if _, err := conn.exec(ctx, db.cat.migratedSQL, to, id, to); err != nil {
		return "", err
	}
	if err := db.cat.logged(ctx, conn, id, nil); err != nil {
		return "", err
	}
	return ResultMigrated, nil
}

// stepwiseItem applies one step of a stepwise migration and records it.
// Making a shared table (CreateTable) holds the catalog's lock, so that
// two tenants' migrations do not record it at once.
func (db *DB) stepwiseItem(ctx context.Context, conn *sqlBackend, scope *migrationScope, id string, it planItem) error {
	if it.lock {
		if err := db.sessionLock(ctx, conn, "catalog", true); err != nil {
			return err
		}
		defer func() {
			if err := db.sessionUnlock(ctx, conn, "catalog"); err != nil {
				// Never back to the pool with the lock: closed instead.
				_ = conn.conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
	}
	if it.stmts != nil {
		done, err := db.applied(ctx, conn, it)
		if err != nil {
			return err
		}
		if done {
			it.stmts = nil
		}
		if err := db.runItem(ctx, conn, nil, it); err != nil {
			return err
		}
	}
	// The data change (if any), the catalog records and the step's record
	// commit together.
	return inTx(ctx, conn, func(tx querier) error {
		data := it
		data.stmts = nil
		mctx := context.WithValue(WithTenant(ctx, id), ctxTxKey{}, &txState{db: db, tenant: id, be: tx.(txBackend), mig: scope})
		if err := db.runItem(mctx, tx, tx, data); err != nil {
			return err
		}
		version, step := it.version-1, int64(it.index+1)
		if it.last {
			version, step = it.version, 0
		}
		_, err := tx.exec(ctx, db.cat.stepSQL, version, step, id)
		return err
	})
}

// lockedConn takes a connection of the DB's pool for the caller's sole use
// and the session lock on name (MySQL's GET_LOCK); release gives the lock
// back and the connection to the pool (or closes it, if the lock could not
// be given back).
func (db *DB) lockedConn(ctx context.Context, name string, wait bool) (*sqlBackend, func(), error) {
	sb, ok := db.be.(*sqlBackend)
	if !ok {
		return nil, nil, fmt.Errorf("tenantmap: stepwise migration needs a database/sql pool")
	}
	c, err := sb.db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	conn := &sqlBackend{q: c, conn: c}
	if err := db.sessionLock(ctx, conn, name, wait); err != nil {
		c.Close()
		return nil, nil, err
	}
	release := func() {
		if err := db.sessionUnlock(ctx, conn, name); err != nil {
			_ = c.Raw(func(any) error { return driver.ErrBadConn }) // closed, not pooled, with the lock
		}
		c.Close()
	}
	return conn, release, nil
}

// sessionLock takes the session lock on name (MySQL's GET_LOCK) on conn,
// waiting for it (honouring ctx) if wait is set, else failing with
// errLocked if another session holds it.
func (db *DB) sessionLock(ctx context.Context, conn querier, name string, wait bool) error {
	for {
		var got bool
		stmt := db.cat.tryLockSQL
		if wait {
			stmt = db.cat.waitLockSQL
		}
		if err := conn.queryRow(ctx, stmt, name).Scan(&got); err != nil {
			return err
		}
		if got {
			return nil
		}
		if !wait {
			return errLocked
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// sessionUnlock gives back a session lock sessionLock took.
func (db *DB) sessionUnlock(ctx context.Context, conn querier, name string) error {
	var released sql.NullInt64
	if err := conn.queryRow(context.WithoutCancel(ctx), db.cat.unlockSQL, name).Scan(&released); err != nil {
		return err
	}
	if released.Int64 != 1 {
		return fmt.Errorf("tenantmap: the lock %q was not this session's", name)
	}
	return nil
}

// applied reports whether a DDL step's change is in the table already:
// MySQL commits DDL at once, so a run cut short between a step and its
// record leaves it done but not recorded.
func (db *DB) applied(ctx context.Context, q querier, it planItem) (bool, error) {
	mp := it.mp
	has := func(list func() ([]string, error), name string) (bool, error) {
		names, err := list()
		return slices.Contains(names, name), err
	}
	cols := func() ([]string, error) {
		cs, err := columnsOf(ctx, q, db.dialect, mp.schema, mp.table)
		names := make([]string, len(cs))
		for i, c := range cs {
			names[i] = c.Name
		}
		return names, err
	}
	indexes := func() ([]string, error) {
		ixs, err := indexesOf(ctx, q, db.dialect, mp.schema, mp.table)
		names := make([]string, len(ixs))
		for i, ix := range ixs {
			names[i] = ix.Name
		}
		return names, err
	}
	switch s := it.step.(type) {
	case *addColumnStep:
		return has(cols, s.col.Name)
	case *dropColumnStep:
		there, err := has(cols, s.column)
		return !there, err
	case *renameColumnStep:
		names, err := cols()
		return slices.Contains(names, s.to) && !slices.Contains(names, s.from), err
	case *addIndexStep:
		return has(indexes, indexName(db.dialect, mp.table, s.name, s.unique))
	case *dropIndexStep:
		there, err := has(indexes, indexName(db.dialect, mp.table, s.name, s.unique))
		return !there, err
	case *createTableStep:
		names, err := cols()
		return len(names) > 0, err
	}
	return false, nil // ALTER … MODIFY sets the same type again harmlessly
}

// migrateShared migrates one shared table to version to: the DDL steps on
// its model, once for all its tenants.
func (r *migrationRun) migrateShared(ctx context.Context, s *pendingTarget, to int64) SharedMigration {
	db := r.db
	model := r.sharedModel(*s)
	res := SharedMigration{Model: model, Table: qualified(s.id, s.table), From: s.version, To: to}
	// A model no migration names may be registered elsewhere only: its
	// table just moves to the new version. checkMigrations made sure that
	// the models the migrations name are registered here.
	var mp *mapping
	if b := db.bindingNamed(model); b != nil {
		mp = buildMapping(db.dialect, b.model, "", placement{kind: sharedTable, schema: s.id, table: s.table})
	}
	render := func(from, step, upTo int64) ([]planItem, error) {
		var items []planItem
		for _, m := range r.migs.between(from, upTo) {
			for i, st := range m.Steps {
				if m.Version == from+1 && int64(i) < step {
					continue
				}
				if st.kind() != stepDDL || stepModel(st) != model {
					continue
				}
				if mp == nil {
					return nil, fmt.Errorf("%w: migration %d changes model %s, which is not registered", ErrInvalidMigration, m.Version, model)
				}
				stmts, err := renderDDL(db.dialect, mp.model, mp, st)
				if err != nil {
					return nil, fmt.Errorf("migration %d (%v): %w", m.Version, st, err)
				}
				items = append(items, planItem{version: m.Version, index: i, last: i == len(m.Steps)-1, step: st, mp: mp, stmts: stmts})
			}
		}
		return items, nil
	}
	if r.o.DryRun {
		items, err := render(s.version, s.step, to)
		res.Result, res.Err = ResultPlanned, err
		for _, it := range items {
			res.Statements = append(res.Statements, it.stmts...)
		}
		if err != nil {
			res.Result = ResultFailed
		}
		return res
	}
	// The table's steps of a version wait until every tenant (not dropped;
	// in this run or not, this runner's or another's) has reached the
	// version before: a tenant's own steps of an earlier version may still
	// read what they change. Read under the table's lock.
	limit := func(q querier, v int64) (int64, error) {
		var low sql.NullInt64
		if err := q.queryRow(ctx, db.cat.lowestVersionSQL).Scan(&low); err != nil {
			return 0, err
		}
		if !low.Valid {
			return to, nil
		}
		for _, m := range r.migs.between(v, to) {
			if r.sharedSteps(m, *s) && m.Version > low.Int64+1 {
				return m.Version - 1, nil
			}
		}
		return to, nil
	}
	lockName := "shared:" + res.Table // tenant locks are "tenant:" + id, the catalog's "catalog"
	update := func(ctx context.Context, q querier, version, step int64) error {
		_, err := q.exec(ctx, db.cat.sharedMigratedSQL, version, step, s.id, s.table)
		return err
	}
	readVersion := func(q querier, stmt string) (int64, int64, error) {
		var m string
		var v, st int64
		err := q.queryRow(ctx, stmt, s.id, s.table).Scan(&m, &v, &st)
		return v, st, err
	}
	// migrate takes the table from v (step st) as far as limit allows.
	migrate := func(q querier, v, st int64, stepwise bool) error {
		if v >= to && st == 0 {
			res.Result = ResultCurrent
			return nil
		}
		upTo, err := limit(q, v)
		if err != nil {
			return err
		}
		res.To = upTo
		if upTo < to {
			res.Err = fmt.Errorf("stopped at version %d: the table's steps of version %d wait for every tenant to reach %d", upTo, upTo+1, upTo)
		}
		if upTo <= v {
			res.Result, res.To = ResultSkipped, v
			return nil
		}
		items, err := render(v, st, upTo)
		if err != nil {
			return err
		}
		for _, it := range items {
			if stepwise {
				// DDL commits at once: apply what is not applied yet, and
				// record each step.
				done, err := db.applied(ctx, q, it)
				if err != nil {
					return err
				}
				if !done {
					if err := db.runItem(ctx, q, nil, it); err != nil {
						return err
					}
				}
				version, step := it.version-1, int64(it.index+1)
				if it.last {
					version, step = it.version, 0
				}
				if err := update(ctx, q, version, step); err != nil {
					return err
				}
				continue
			}
			if err := db.runItem(ctx, q, nil, it); err != nil {
				return err
			}
		}
		return update(ctx, q, upTo, 0)
	}
	res.Result = ResultMigrated
	var err error
	if db.dialect.Features()&dialect.TransactionalDDL == 0 {
		var conn *sqlBackend
		var release func()
		if conn, release, err = db.lockedConn(ctx, lockName, true); err == nil {
			defer release()
			var v, st int64
			if v, st, err = readVersion(conn, db.cat.sharedVersionSQL); err == nil {
				err = migrate(conn, v, st, true)
			}
		}
	} else {
		err = inTx(ctx, db.be, func(tx querier) error {
			v, _, err := readVersion(tx, db.cat.sharedLockSQL) // locks the table's catalog row (PostgreSQL)
			if err != nil {
				return err
			}
			return migrate(tx, v, 0, false)
		})
	}
	if err != nil {
		res.Result, res.Err = ResultFailed, err
	}
	db.reg.InvalidateModel(model)
	return res
}
