package cli

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tenantmap/tenantmap"
)

// versionsNow counts the tenants (those named, or every one not dropped) at
// each migration version, for saying why a run had nothing to do.
func versionsNow(ctx context.Context, db *tenantmap.DB, only []string) (map[int64]int, error) {
	by := map[int64]int{}
	after := ""
	for {
		page, next, err := db.Tenants().List(ctx, tenantmap.ListOptions{After: after, Limit: 10_000})
		if err != nil {
			return nil, err
		}
		for _, t := range page {
			if t.Status == tenantmap.StatusDropped || len(only) > 0 && !slices.Contains(only, t.ID) {
				continue
			}
			by[t.MigrationVersion]++
		}
		if next == "" {
			return by, nil
		}
		after = next
	}
}

// nothingToDo says why a migration to target touched no tenant, and how
// many tenants are past the target (migrations only go forward).
func nothingToDo(by map[int64]int, target int64) (string, int) {
	total, ahead := 0, 0
	var past []string
	versions := make([]int64, 0, len(by))
	for v := range by {
		versions = append(versions, v)
	}
	sort.Slice(versions, func(i, j int) bool { return versions[i] < versions[j] })
	for _, v := range versions {
		total += by[v]
		if v > target {
			ahead += by[v]
			past = append(past, fmt.Sprintf("%d at version %d", by[v], v))
		}
	}
	switch {
	case total == 0:
		return "nothing to migrate: no tenants (create them with tenants create)", 0
	case ahead == 0:
		return "nothing to migrate: every tenant is at version " + strconv.FormatInt(target, 10), 0
	}
	return fmt.Sprintf("nothing to migrate to version %d: %d of %d tenants are past it (%s) and stay there; migrations only go forward, tenantmap does not migrate down",
		target, ahead, total, strings.Join(past, ", ")), ahead
}
