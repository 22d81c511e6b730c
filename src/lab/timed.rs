//! A blocking call and how long it took: what SO_RCVLOWAT, SO_RCVTIMEO and
//! SO_SNDTIMEO are judged by.

use std::io;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::sock::{result_name, Returned};
use crate::model::Show;

/// A call that moves bytes (recv, send): what it returned, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timed {
    pub returned: Returned,
    #[serde(with = "crate::model::millis")]
    pub took: Duration,
}

impl Timed {
    pub fn of(f: impl FnOnce() -> io::Result<usize>) -> Timed {
        let t = Instant::now();
        let r = f();
        Timed {
            returned: Returned::of(&r),
            took: t.elapsed(),
        }
    }
}

impl Show for Timed {
    /// "500 B after 153 ms", "EAGAIN after 101 ms".
    fn show(&self) -> String {
        format!("{} after {}", self.returned.show(), self.took.show())
    }
}

/// A call that moves no bytes (accept, connect): "ok" or the errno name, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimedCall {
    pub result: String,
    #[serde(with = "crate::model::millis")]
    pub took: Duration,
}

impl TimedCall {
    pub fn of<T>(f: impl FnOnce() -> io::Result<T>) -> TimedCall {
        let t = Instant::now();
        let r = f();
        TimedCall {
            result: result_name(&r),
            took: t.elapsed(),
        }
    }
}

impl Show for TimedCall {
    fn show(&self) -> String {
        format!("{} after {}", self.result, self.took.show())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn calls_read_with_their_time() {
        let t = Timed {
            returned: Returned::Bytes(500),
            took: Duration::from_millis(153),
        };
        assert_eq!("500 B after 153 ms", t.show());
        let c = TimedCall::of(|| Err::<(), _>(io::Error::from_raw_os_error(libc::EAGAIN)));
        assert_eq!("EAGAIN", c.result);
        assert_eq!(Returned::Bytes(3), Timed::of(|| Ok(3)).returned);
    }
}
