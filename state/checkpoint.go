package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// FormatVersion is the version of the key layout and value encodings this
// build writes. A checkpoint of another version is refused by
// ReadCheckpoint: the service then drops the partition and restores it from
// the changelog; replay asks the user for a fresh --state-dir.
const FormatVersion = 1

// checkpointKey is the key of a partition's checkpoint, below its prefix:
// "p<partition>/_meta". Keys beginning with "_" are the store's own and out
// of reach of a View's Get, Put, Delete and Scan.
const checkpointKey = "_meta"

// Checkpoint records what a partition's local state reflects. It is written
// by View.WriteCheckpoint together with the changes it covers, so Badger
// never claims more than it holds.
type Checkpoint struct {
	// Version is the FormatVersion of the state; WriteCheckpoint sets it.
	Version int `json:"version"`
	// ChangelogOffset is the offset, in the changelog topic's partition, of
	// the last record this state reflects; -1 when none. A restore reads the
	// changelog from ChangelogOffset+1.
	ChangelogOffset int64 `json:"changelog_offset"`
	// Inputs maps an input topic to the next offset to consume in its
	// partition of the same number (the offsets the Kafka transaction
	// committed with this state).
	Inputs map[string]int64 `json:"inputs,omitempty"`
	// Watermark is the partition's watermark when the checkpoint was taken
	// (zero when unknown).
	Watermark time.Time `json:"watermark"`
}

func (cp *Checkpoint) encode() ([]byte, error) {
	c := *cp
	c.Version = FormatVersion
	return json.Marshal(&c)
}

func decodeCheckpoint(raw []byte) (Checkpoint, error) {
	var cp Checkpoint
	if err := json.Unmarshal(raw, &cp); err != nil {
		return Checkpoint{}, fmt.Errorf("state: checkpoint: %w", err)
	}
	if cp.Version != FormatVersion {
		return Checkpoint{}, fmt.Errorf("state: checkpoint of format version %d, this build reads version %d: %w", cp.Version, FormatVersion, ErrFormat)
	}
	return cp, nil
}

// ErrFormat is returned (wrapped) when stored state was written in another
// format version.
var ErrFormat = errors.New("state format not supported")
