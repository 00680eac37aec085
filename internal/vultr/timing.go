package vultr

import "time"

// Vultr's timing, as observed (see docs/performance.md): an install of
// about 90 s (server_status "none", then "locked", during which DELETE is
// refused), a boot of about 60 s ("installingbooting"), and a snapshot of
// about 20 s per GB of disk (a 25 GB disk's took 7 to 8.5 minutes; a
// 120 GB one, over 20).

// SnapshotTime is how long Vultr is observed to take to snapshot a disk
// of diskGB: about 20 s per GB.
func SnapshotTime(diskGB int) time.Duration { return time.Duration(diskGB) * 20 * time.Second }

// SnapshotTimeout is the default snapshot wait for a disk of diskGB:
// twice the observed rate, never under 30 minutes (Packer's own
// acceptance test waits 60), and never beyond 6 hours, the longest a
// GitHub-hosted job runs. The timeout input, or the job's own limit, ends
// it sooner.
func SnapshotTimeout(diskGB int) time.Duration {
	return min(6*time.Hour, max(30*time.Minute, 2*SnapshotTime(diskGB)))
}

// snapshotPollMax is the longest gap between snapshot polls for a disk of
// diskGB: a second per GB, from 5 s to 30 s. A long snapshot costs a few
// dozen requests, where Packer's 3 s polls cost hundreds.
func snapshotPollMax(diskGB int) time.Duration {
	return min(30*time.Second, max(5*time.Second, time.Duration(diskGB)*time.Second))
}

// Poll gaps for instance waits: at most 5 s while it installs and boots
// (two and a half minutes on Vultr: about 35 polls, where Packer's 3 s
// make 50), and 10 s while a delete waits out the install lock.
const (
	instancePollMax = 5 * time.Second
	lockPollMax     = 10 * time.Second
	firstPoll       = 250 * time.Millisecond
	pollFloor       = 500 * time.Millisecond
)

// scaled multiplies d by the client's TimeScale (tests run the cloud's
// real timeline in seconds; see Config.TimeScale).
func (c *Client) scaled(d time.Duration) time.Duration {
	if c.cfg.TimeScale <= 0 {
		return d
	}
	return max(time.Millisecond, time.Duration(float64(d)*c.cfg.TimeScale))
}
