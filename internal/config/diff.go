package config

import "maps"

// Changes is what differs between two versions of a file, for a reload (SIGHUP): links in
// Unchanged keep running untouched, Changed and Removed ones are taken down, Changed and Added
// ones dialed.
type Changes struct {
	Added     []*Link // in the new file only
	Removed   []*Link // in the old file only
	Changed   []*Link // in both (same ID), some setting differs; the new version
	Unchanged []*Link // in both with every setting equal; the new version
	// EgressChanged is set when any [egress] setting differs.
	EgressChanged bool
}

// Diff compares two versions of a file; old may be nil (the first load: every link is added).
// Links are matched by ID and compared by the value of every flag, defaults included, so a key
// that only spells out a default changes nothing, while a secret read from a file that now holds
// another one does.
func Diff(old, new *File) Changes {
	var c Changes
	before := map[string]*Link{}
	if old != nil {
		for _, l := range old.Links {
			before[l.ID()] = l
		}
	}
	for _, l := range new.Links {
		prev, ok := before[l.ID()]
		switch {
		case !ok:
			c.Added = append(c.Added, l)
		case maps.Equal(prev.effective, l.effective):
			c.Unchanged = append(c.Unchanged, l)
		default:
			c.Changed = append(c.Changed, l)
		}
		delete(before, l.ID())
	}
	if old != nil {
		for _, l := range old.Links {
			if _, gone := before[l.ID()]; gone {
				c.Removed = append(c.Removed, l)
			}
		}
		c.EgressChanged = !maps.Equal(old.Egress.effective, new.Egress.effective)
	}
	return c
}
