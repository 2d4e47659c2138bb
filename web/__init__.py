"""HTTP plumbing every channel shares (request bodies, error shapes); no project imports."""
