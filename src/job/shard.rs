//! Shards: deterministic, balanced, contiguous parts of a job's tiles.

use crate::error::{Error, Result};
use std::ops::Range;

/// The I-th of N parts of a job (`index` counts from 0; `--shard` writes it from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based.
    pub index: usize,
    /// How many shards the job is cut into.
    pub count: usize,
}

/// At most this many shards (a bound on a typo, not on clusters).
pub const MAX_SHARDS: usize = 100_000;

impl Shard {
    /// A shard from its 0-based index and the count.
    pub fn new(index: usize, count: usize) -> Result<Shard> {
        if count == 0 || count > MAX_SHARDS {
            return Err(Error::Config(format!(
                "a job is cut into 1 to {MAX_SHARDS} shards, not {count}"
            )));
        }
        if index >= count {
            return Err(Error::Config(format!(
                "shard index {index} (from 0) is not below the shard count {count}"
            )));
        }
        Ok(Shard { index, count })
    }

    /// `I/N` with I from 1 to N, as `--shard` takes it.
    ///
    /// ```
    /// let s = satdet::job::Shard::parse("3/8")?;
    /// assert_eq!((s.index, s.count), (2, 8));
    /// assert!(satdet::job::Shard::parse("0/8").is_err());
    /// # Ok::<(), satdet::Error>(())
    /// ```
    pub fn parse(s: &str) -> Result<Shard> {
        let bad = || {
            Error::Config(format!(
                "--shard `{s}`: expected I/N with 1 <= I <= N (e.g. 3/8)"
            ))
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let i: usize = i.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if i == 0 || i > n {
            return Err(bad());
        }
        Shard::new(i - 1, n)
    }

    /// The shard a cluster engine's environment asks for, `None` when it asks for none:
    /// SLURM job arrays (`SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_COUNT`, and
    /// `SLURM_ARRAY_TASK_MIN` when the array does not start at 0), or Kubernetes Indexed
    /// Jobs (`JOB_COMPLETION_INDEX`, 0-based, with the count given as `shard_count`, since
    /// Kubernetes does not put `completions` in the environment). `env` reads a variable
    /// (`|k| std::env::var(k).ok()`).
    ///
    /// ```
    /// use satdet::job::Shard;
    /// let slurm = |k: &str| match k {
    ///     "SLURM_ARRAY_TASK_ID" => Some("5".to_string()),
    ///     "SLURM_ARRAY_TASK_MIN" => Some("1".to_string()),
    ///     "SLURM_ARRAY_TASK_COUNT" => Some("8".to_string()),
    ///     _ => None,
    /// };
    /// assert_eq!(Shard::from_env(None, slurm)?, Some(Shard::new(4, 8)?));
    /// let k8s = |k: &str| (k == "JOB_COMPLETION_INDEX").then(|| "0".to_string());
    /// assert_eq!(Shard::from_env(Some(4), k8s)?, Some(Shard::new(0, 4)?));
    /// assert!(Shard::from_env(None, k8s).is_err()); // the count is needed
    /// # Ok::<(), satdet::Error>(())
    /// ```
    pub fn from_env(
        shard_count: Option<usize>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Shard>> {
        let num = |k: &str| -> Result<Option<usize>> {
            match env(k) {
                None => Ok(None),
                Some(v) if v.trim().is_empty() => Ok(None),
                Some(v) => v.trim().parse().map(Some).map_err(|_| {
                    Error::Config(format!("environment variable {k}=`{v}` is not a count"))
                }),
            }
        };
        if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
            let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let count = match (num("SLURM_ARRAY_TASK_COUNT")?, shard_count) {
                (Some(c), _) => c,
                (None, Some(c)) => c,
                (None, None) => {
                    return Err(Error::Config(
                        "SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT: pass --shard-count N".into(),
                    ))
                }
            };
            let index = id.checked_sub(min).ok_or_else(|| {
                Error::Config(format!(
                    "SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}"
                ))
            })?;
            return Shard::new(index, count).map(Some);
        }
        if let Some(index) = num("JOB_COMPLETION_INDEX")? {
            let count = shard_count.ok_or_else(|| {
                Error::Config(
                    "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job): pass --shard-count N, the Job's completions".into(),
                )
            })?;
            return Shard::new(index, count).map(Some);
        }
        Ok(None)
    }

    /// This shard's part of `total` tiles: contiguous (neighbouring tiles share chunks),
    /// the parts differing in length by at most one.
    pub fn range(&self, total: usize) -> Range<usize> {
        let at = |i: usize| (i as u128 * total as u128 / self.count as u128) as usize;
        at(self.index)..at(self.index + 1)
    }
}

impl std::fmt::Display for Shard {
    /// `I/N`, I from 1.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_partition_and_balance() {
        for total in [0usize, 1, 7, 30, 1001] {
            for count in 1..=9 {
                let mut next = 0;
                for index in 0..count {
                    let r = Shard::new(index, count).unwrap().range(total);
                    assert_eq!(r.start, next);
                    assert!(r.len() <= total / count + 1 && r.len() >= total / count);
                    next = r.end;
                }
                assert_eq!(next, total);
            }
        }
    }

    #[test]
    fn bad_shards_are_refused() {
        for s in ["", "1", "0/3", "4/3", "a/3", "1/0", "1/b"] {
            assert!(Shard::parse(s).is_err(), "{s}");
        }
        assert_eq!(Shard::parse(" 2 / 3 ").unwrap().to_string(), "2/3");
        let bad = |k: &str| (k == "SLURM_ARRAY_TASK_ID").then(|| "x".to_string());
        assert!(Shard::from_env(Some(2), bad).is_err());
        assert_eq!(Shard::from_env(None, |_| None).unwrap(), None);
    }
}
