package tenantmap_test

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tenantmap/tenantmap"
)

// The tests' openers: each may be the first to open its database, so each
// lets Open create the catalog (Config.CreateCatalog).

func openCreating(ctx context.Context, rawURL string) (*tenantmap.DB, error) {
	cfg, err := tenantmap.ParseConfig(rawURL)
	if err != nil {
		return nil, err
	}
	return openConfigCreating(ctx, cfg)
}

func openConfigCreating(ctx context.Context, cfg *tenantmap.Config) (*tenantmap.DB, error) {
	c := *cfg
	c.CreateCatalog = true
	return tenantmap.OpenConfig(ctx, &c)
}

func openPoolCreating(ctx context.Context, pool *pgxpool.Pool, cfg *tenantmap.Config) (*tenantmap.DB, error) {
	var c tenantmap.Config
	if cfg != nil {
		c = *cfg
	}
	c.CreateCatalog = true
	return tenantmap.OpenPool(ctx, pool, &c)
}
