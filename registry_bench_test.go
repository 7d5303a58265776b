package tenantmap

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"testing"

	"github.com/tenantmap/tenantmap/dialect/postgres"
)

type benchCase struct {
	ID       int64
	Title    string
	Status   string
	Priority int
}

func benchRegistry(b *testing.B, tenants, size int) (*Registry, []registryKey) {
	b.Helper()
	m, err := compileModel(reflect.TypeFor[benchCase](), "")
	if err != nil {
		b.Fatal(err)
	}
	bd := &binding{id: 1, model: m, strategy: TablePerTenant("{tenant}_case")}
	d := postgres.Dialect{}
	reg := newRegistry(size, func(_ context.Context, k registryKey) (*mapping, error) {
		return buildMapping(d, k.binding.model, k.tenant, placement{kind: tablePerTenant, schema: "public", table: k.tenant + "_case"}), nil
	})
	keys := make([]registryKey, tenants)
	for i := range keys {
		keys[i] = registryKey{binding: bd, tenant: fmt.Sprintf("tenant%06d", i)}
	}
	return reg, keys
}

// BenchmarkRegistryHit is the cost of finding a cached mapping: the fixed
// overhead every call pays. Run with -cpu 1,2: with 2 goroutines the time
// per op must fall, which it does only if hits write no shared memory.
func BenchmarkRegistryHit(b *testing.B) {
	for _, tenants := range []int{1, 1000, 100_000} {
		b.Run(fmt.Sprintf("tenants=%d", tenants), func(b *testing.B) {
			reg, keys := benchRegistry(b, tenants, tenants)
			ctx := context.Background()
			for _, k := range keys {
				if _, err := reg.lookup(ctx, k, false); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := reg.lookup(ctx, keys[i], false); err != nil {
						b.Fatal(err)
					}
					i++
					if i == len(keys) {
						i = 0
					}
				}
			})
			b.StopTimer()
			if s := reg.Stats(); s.Builds != uint64(tenants) {
				b.Fatalf("hits rebuilt mappings: %+v", s)
			}
		})
	}
}

// BenchmarkRegistryChurn is a working set twice the bound: every lookup
// misses, builds and evicts. It shows the bound holds and eviction is cheap.
func BenchmarkRegistryChurn(b *testing.B) {
	reg, keys := benchRegistry(b, 20_000, 10_000)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := reg.lookup(ctx, keys[i%len(keys)], false); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if s := reg.Stats(); s.Size > 10_000 {
		b.Fatalf("registry grew past its bound: %d", s.Size)
	}
}

// BenchmarkMappingMemory reports the heap held per cached mapping with
// 100,000 tenants (B/mapping), measured after a GC.
func BenchmarkMappingMemory(b *testing.B) {
	const tenants = 100_000
	for i := 0; i < b.N; i++ {
		reg, keys := benchRegistry(b, tenants, tenants)
		ctx := context.Background()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for _, k := range keys {
			if _, err := reg.lookup(ctx, k, false); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/tenants, "B/mapping")
		runtime.KeepAlive(reg)
		runtime.KeepAlive(keys)
	}
}
