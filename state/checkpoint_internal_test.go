package state

import (
	"errors"
	"testing"
)

func TestCheckpointOfAnotherVersionIsRefused(t *testing.T) {
	db, err := Open("", DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v := db.Partition(0)
	txn := db.db.NewTransaction(true)
	if err := txn.Set([]byte("p0/"+checkpointKey), []byte(`{"version":99,"changelog_offset":5}`)); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.ReadCheckpoint(); !errors.Is(err, ErrFormat) {
		t.Fatalf("ReadCheckpoint of version 99: %v, want ErrFormat", err)
	}
}
