package tenantmap

import (
	"context"
	"hash/maphash"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// affinePools splits PostgreSQL connections into single-connection pools and
// gives every tenant two home connections, chosen by a hash of its id,
// once the tenants in use are more than one connection's statement cache
// holds (with fewer, every connection can hold them all, and calls go to
// the first idle connection). A
// server backend then prepares statements for, and caches the catalog
// entries of, mostly 2/N of the tenants instead of all of them, so server
// memory and the statement cache each connection needs shrink, and a bounded
// cache holds the working set instead of churning. Two homes rather than one
// let a busy tenant run two calls at once; a call goes to another
// connection only when both homes are in use and that one is free, so it
// never waits while a connection idles.
type affinePools struct {
	shards []*affineShard
	next   atomic.Uint32 // where the next pool-wide operation starts looking
	// compact reports whether every cached mapping's statements fit one
	// connection's statement cache; calls then go to the first idle
	// connection, as a pool's most recently used one would serve them.
	compact func() bool
}

type affineShard struct {
	pgxBackend
	busy atomic.Int32 // calls holding or waiting for this shard's connection
	_    [60]byte     // keep busy counters on separate cache lines
}

func (a *affinePools) pick(tenant string) *affineShard {
	if a.compact != nil && a.compact() {
		return a.first()
	}
	n := uint64(len(a.shards))
	h := maphash.String(hashSeed, tenant)
	first := a.shards[h%n]
	if first.busy.Load() == 0 {
		return first
	}
	second := a.shards[(h%n+1+(h>>32)%(n-1))%n] // never first, as n > 1
	if second.busy.Load() == 0 {
		return second
	}
	// Both homes are in use — perhaps by this very goroutine, iterating rows
	// or inside a transaction — so never wait on one while another
	// connection is free.
	best := first
	for _, s := range a.shards {
		if b := s.busy.Load(); b < best.busy.Load() {
			best = s
			if b == 0 {
				break
			}
		}
	}
	return best
}

// forTenant returns the backend a tenant's calls use.
func (a *affinePools) forTenant(tenant string) backend { return a.pick(tenant) }

// first returns the first idle shard, else the least busy one: with few
// tenants, homes would spread two goroutines' calls over every backend,
// each taking its turn on the server's cores, where a pool keeps reusing
// the connections released last.
func (a *affinePools) first() *affineShard { return a.idlest(0) }

// any returns an idle shard for an operation of no tenant in particular
// (the catalog, provisioning, migrations), else the least busy one. Each
// call starts looking one shard further on, so concurrent operations do
// not all try the same idle shard first and queue behind each other.
func (a *affinePools) any() *affineShard { return a.idlest(a.next.Add(1)) }

// idlest returns the first idle shard from start on, else the least busy.
func (a *affinePools) idlest(start uint32) *affineShard {
	n := uint32(len(a.shards))
	best := a.shards[start%n]
	for i := uint32(0); i < n; i++ {
		s := a.shards[(start+i)%n]
		b := s.busy.Load()
		if b == 0 {
			return s
		}
		if b < best.busy.Load() {
			best = s
		}
	}
	return best
}

// The pool-wide operations take any idle shard.
func (a *affinePools) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	return a.any().exec(ctx, sql, args...)
}
func (a *affinePools) query(ctx context.Context, sql string, args ...any) (rows, error) {
	return a.any().query(ctx, sql, args...)
}
func (a *affinePools) queryRow(ctx context.Context, sql string, args ...any) row {
	return a.any().queryRow(ctx, sql, args...)
}
func (a *affinePools) begin(ctx context.Context) (txBackend, error) { return a.any().begin(ctx) }
func (a *affinePools) close() {
	for _, s := range a.shards {
		s.pool.Close()
	}
}

func (s *affineShard) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	s.busy.Add(1)
	defer s.busy.Add(-1)
	return s.pgxBackend.exec(ctx, sql, args...)
}

func (s *affineShard) query(ctx context.Context, sql string, args ...any) (rows, error) {
	s.busy.Add(1)
	r, err := s.pgxBackend.query(ctx, sql, args...)
	if err != nil {
		s.busy.Add(-1)
		return nil, err
	}
	return &affineRows{Rows: r.(pgx.Rows), busy: &s.busy}, nil
}

func (s *affineShard) queryRow(ctx context.Context, sql string, args ...any) row {
	s.busy.Add(1)
	return &affineRow{row: s.pool.QueryRow(ctx, sql, args...), busy: &s.busy}
}

func (s *affineShard) copyFrom(ctx context.Context, table pgx.Identifier, cols []string, src [][]any) (int64, error) {
	s.busy.Add(1)
	defer s.busy.Add(-1)
	return s.pgxBackend.copyFrom(ctx, table, cols, src)
}

func (s *affineShard) begin(ctx context.Context) (txBackend, error) {
	s.busy.Add(1)
	tx, err := s.pool.BeginTx(ctx, txOptionsFrom(ctx))
	if err != nil {
		s.busy.Add(-1)
		return nil, err
	}
	return &affineTx{pgxBackend: pgxBackend{q: tx, tx: tx}, busy: &s.busy}, nil
}

// affineRow releases its shard when scanned, as pgx releases the connection.
type affineRow struct {
	row  pgx.Row
	busy *atomic.Int32
}

func (r *affineRow) Scan(dest ...any) error {
	defer r.busy.Add(-1)
	return r.row.Scan(dest...)
}

type affineRows struct {
	pgx.Rows
	busy     *atomic.Int32
	released bool
}

// Next releases the shard when the rows are exhausted, as pgx releases the
// connection then: reading to the end is as good as Close.
func (r *affineRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.release()
	return false
}

func (r *affineRows) Close() {
	r.Rows.Close()
	r.release()
}

func (r *affineRows) release() {
	if !r.released {
		r.released = true
		r.busy.Add(-1)
	}
}

type affineTx struct {
	pgxBackend
	busy *atomic.Int32
	done bool
}

func (t *affineTx) release() {
	if !t.done {
		t.done = true
		t.busy.Add(-1)
	}
}

func (t *affineTx) commit(ctx context.Context) error {
	defer t.release()
	return t.pgxBackend.commit(ctx)
}

func (t *affineTx) rollback(ctx context.Context) error {
	defer t.release()
	return t.pgxBackend.rollback(ctx)
}

// newAffinePools opens n single-connection pools with pc's settings.
func newAffinePools(ctx context.Context, pc *pgxpool.Config, n int) (*affinePools, error) {
	a := &affinePools{}
	for range n {
		c := pc.Copy()
		c.MaxConns, c.MinConns = 1, 0
		pool, err := pgxpool.NewWithConfig(ctx, c)
		if err != nil {
			a.close()
			return nil, err
		}
		s := &affineShard{pgxBackend: pgxBackend{pool: pool, own: true}}
		s.q = pool
		a.shards = append(a.shards, s)
	}
	return a, nil
}
