package tenantmap_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tenantmap/tenantmap"
)

// BenchmarkRuntimeMappingChurn builds, uses and evicts run-time mappings:
// a run-time model in a shared SQLite table, 2,000 tenants each with a
// custom field of its own (so each mapping has a model of its own), a
// registry that holds 200, and Gets that visit the tenants in turn, so
// every call builds a mapping and evicts one. It reports the live heap
// after a GC once 10,000 mappings were built and again at the end
// (heap-growth-KiB): with -benchtime 100000x, 100,000 mappings were built
// and released, and a flat heap shows none is kept.
//
//	go test -run XXX -bench RuntimeMappingChurn -benchtime 100000x .
func BenchmarkRuntimeMappingChurn(b *testing.B) {
	const tenants = 2000
	ctx := context.Background()
	cfg, err := tenantmap.ParseConfig("sqlite:" + filepath.Join(b.TempDir(), "churn.db"))
	if err != nil {
		b.Fatal(err)
	}
	cfg.RegistrySize = 200
	cfg.Watch = tenantmap.WatchOff
	db, err := openConfigCreating(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	m, err := tenantmap.NewModel(tenantmap.ModelDoc{Name: "ticket", Fields: []tenantmap.FieldDef{
		{Name: "id", Type: "int64"}, {Name: "title", Type: "string", Size: 100}, {Name: "status", Type: "string", Default: "open"},
	}})
	if err != nil {
		b.Fatal(err)
	}
	tickets, err := tenantmap.RegisterModel(db, m, tenantmap.SharedTable(""))
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, tenants)
	for i := range ids {
		ids[i] = fmt.Sprintf("t%05d", i)
		if _, err := db.Tenants().Create(ctx, ids[i]); err != nil {
			b.Fatal(err)
		}
		if err := db.Tenants().AddField(ctx, ids[i], "ticket", tenantmap.FieldDef{Name: fmt.Sprintf("f%d", i), Type: "int64", Default: i}); err != nil {
			b.Fatal(err)
		}
		if err := tickets.Insert(tenantmap.WithTenant(ctx, ids[i]), tenantmap.NewRecord(map[string]any{"title": "x"})); err != nil {
			b.Fatal(err)
		}
	}
	get := func(i int) {
		r, err := tickets.Get(tenantmap.WithTenant(ctx, ids[i%tenants]), int64(i%tenants+1))
		if err != nil {
			b.Fatal(err)
		}
		if r.Int64(fmt.Sprintf("f%d", i%tenants)) != int64(i%tenants) {
			b.Fatalf("tenant %s: custom field %v", ids[i%tenants], r.Get(fmt.Sprintf("f%d", i%tenants)))
		}
	}
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	start := db.Registry().Stats()
	b.ReportAllocs()
	b.ResetTimer()
	var early uint64
	for i := 0; i < b.N; i++ {
		if i == 10_000 {
			b.StopTimer()
			early = heap()
			b.StartTimer()
		}
		get(i)
	}
	b.StopTimer()
	s := db.Registry().Stats()
	if s.Size > 200 {
		b.Fatalf("registry grew past its bound: %+v", s)
	}
	if b.N > 10_000 {
		late := heap()
		b.ReportMetric(float64(int64(late)-int64(early))/1024, "heap-growth-KiB")
		b.ReportMetric(float64(late)/1024, "live-KiB")
		b.ReportMetric(float64(s.Builds-start.Builds), "builds")
	}
}

// BenchmarkPropagation is the time from a custom field's AddField
// returning in one process to another process's next Get for the tenant
// reading the field, on PostgreSQL (LISTEN/NOTIFY) and, for comparison, on
// PostgreSQL polled every DefaultPollInterval. ns/op is that delay.
//
//	go test -run XXX -bench Propagation -benchtime 50x .
func BenchmarkPropagation(b *testing.B) {
	for _, mode := range []struct {
		name string
		mode tenantmap.WatchMode
	}{{"listen", tenantmap.WatchListen}, {"poll", tenantmap.WatchPoll}} {
		b.Run(mode.name, func(b *testing.B) {
			ctx := context.Background()
			u := newPostgresDatabase(b)
			open := func(m tenantmap.WatchMode) (*tenantmap.DB, *tenantmap.Table[Note]) {
				cfg, err := tenantmap.ParseConfig(u)
				if err != nil {
					b.Fatal(err)
				}
				cfg.Watch = m
				db, err := openConfigCreating(ctx, cfg)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { db.Close() })
				notes, err := tenantmap.Register[Note](db, tenantmap.TablePerTenant("{tenant}_note"))
				if err != nil {
					b.Fatal(err)
				}
				return db, notes
			}
			a, na := open(tenantmap.WatchOff)
			_, nb := open(mode.mode)
			if _, err := a.Tenants().Create(ctx, "acme"); err != nil {
				b.Fatal(err)
			}
			tctx := tenantmap.WithTenant(ctx, "acme")
			n := &Note{Body: "x"}
			if err := na.Insert(tctx, n); err != nil {
				b.Fatal(err)
			}
			sees := func(want bool) bool {
				got, err := nb.Get(tctx, n.ID)
				if err != nil {
					b.Fatal(err)
				}
				return got.Extra.Has("sla") == want
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if err := a.Tenants().AddField(ctx, "acme", "note", tenantmap.FieldDef{Name: "sla", Type: "int64", Nullable: true}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				for !sees(true) {
				}
				b.StopTimer()
				if err := a.Tenants().DropField(ctx, "acme", "note", "sla"); err != nil {
					b.Fatal(err)
				}
				for !sees(false) {
				}
				b.StartTimer()
			}
		})
	}
}
