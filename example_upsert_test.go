package tenantmap_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tenantmap/tenantmap"
)

func ExampleTable_Upsert() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "tenantmap-example-")
	defer os.RemoveAll(dir)
	db, err := tenantmap.OpenConfig(ctx, &tenantmap.Config{Driver: "sqlite", DSN: filepath.Join(dir, "app.db"), CreateCatalog: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	type Member struct {
		Email  string `tm:",pk"`
		Name   string
		Visits int
	}
	members, err := tenantmap.Register[Member](db, tenantmap.SharedTable(""))
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := db.Tenants().Create(ctx, "acme"); err != nil {
		fmt.Println(err)
		return
	}
	acme := tenantmap.WithTenant(ctx, "acme")

	stored, _ := members.Upsert(acme, &Member{Email: "ann@example.com", Name: "Ann", Visits: 1}, tenantmap.OnConflict().DoNothing())
	fmt.Println("first:", stored)
	stored, _ = members.Upsert(acme, &Member{Email: "ann@example.com", Name: "Anna", Visits: 2}, tenantmap.OnConflict().DoNothing())
	fmt.Println("again, do nothing:", stored)
	_, _ = members.Upsert(acme, &Member{Email: "ann@example.com", Name: "Anna", Visits: 2}, tenantmap.OnConflict().DoUpdate("visits"))
	m, _ := members.Get(acme, "ann@example.com")
	fmt.Println(m.Name, m.Visits)

	n, _ := members.UpdateWhere(acme, tenantmap.Where("visits >= ?", 2), &Member{Name: "Regular"}, "name")
	fmt.Println("updated:", n)
	n, _ = members.DeleteWhere(acme, tenantmap.Where("name = ?", "Regular"))
	fmt.Println("deleted:", n)
	// Output:
	// first: true
	// again, do nothing: false
	// Ann 2
	// updated: 1
	// deleted: 1
}

func ExampleDB_InTx() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "tenantmap-example-")
	defer os.RemoveAll(dir)
	db, err := tenantmap.OpenConfig(ctx, &tenantmap.Config{Driver: "sqlite", DSN: filepath.Join(dir, "app.db"), CreateCatalog: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	type Account struct {
		ID      int64
		Balance int64
	}
	accounts, err := tenantmap.Register[Account](db, tenantmap.TablePerTenant("{tenant}_account"))
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := db.Tenants().Create(ctx, "acme"); err != nil {
		fmt.Println(err)
		return
	}
	acme := tenantmap.WithTenant(ctx, "acme")
	_ = accounts.Insert(acme, &Account{Balance: 100})

	// Use the ctx fn is given: the outer acme context would run outside.
	err = db.InTx(acme, func(ctx context.Context) error {
		a, err := accounts.Get(ctx, int64(1))
		if err != nil {
			return err
		}
		a.Balance -= 30
		return accounts.Update(ctx, a)
	}, tenantmap.Isolation(tenantmap.Serializable))
	fmt.Println("transfer:", err)

	err = db.InTx(acme, func(ctx context.Context) error {
		return accounts.Insert(ctx, &Account{Balance: 1})
	}, tenantmap.ReadOnly())
	fmt.Println("write in a read-only transaction refused:", err != nil)
	a, _ := accounts.Get(acme, int64(1))
	fmt.Println("balance:", a.Balance)
	// Output:
	// transfer: <nil>
	// write in a read-only transaction refused: true
	// balance: 70
}
