//! Values as a network programmer writes them, for checks and report lines:
//! numbers, errno names, flags, addresses. No Rust syntax (`Some(..)`,
//! quotes, struct names) ever reaches a report through this trait.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// How an observed or expected value is written in a report.
pub trait Show {
    fn show(&self) -> String;
}

macro_rules! show_display {
    ($($t:ty),*) => {$(
        impl Show for $t {
            fn show(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

show_display!(
    i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, bool, char, String, str, IpAddr, SocketAddr
);

impl Show for f64 {
    /// Three decimals at most, without trailing zeros (12.5, not 12.500).
    fn show(&self) -> String {
        let s = format!("{self:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    }
}

impl Show for Duration {
    /// Whole milliseconds from 100 ms up, one decimal below ("1016 ms", "12.5 ms").
    fn show(&self) -> String {
        let ms = self.as_secs_f64() * 1e3;
        if ms >= 100.0 {
            format!("{ms:.0} ms")
        } else {
            format!("{} ms", ((ms * 10.0).round() / 10.0).show())
        }
    }
}

impl<T: Show + ?Sized> Show for &T {
    fn show(&self) -> String {
        (**self).show()
    }
}

impl<T: Show> Show for Option<T> {
    /// An absent value is "none": nothing was seen, returned or captured.
    fn show(&self) -> String {
        match self {
            Some(v) => v.show(),
            None => "none".into(),
        }
    }
}

impl<T: Show> Show for [T] {
    fn show(&self) -> String {
        format!(
            "[{}]",
            self.iter().map(Show::show).collect::<Vec<_>>().join(", ")
        )
    }
}

impl<T: Show> Show for Vec<T> {
    fn show(&self) -> String {
        self.as_slice().show()
    }
}

impl<T: Show, const N: usize> Show for [T; N] {
    fn show(&self) -> String {
        self.as_slice().show()
    }
}

impl<A: Show, B: Show> Show for (A, B) {
    fn show(&self) -> String {
        format!("{} {}", self.0.show(), self.1.show())
    }
}

impl<A: Show, B: Show, C: Show> Show for (A, B, C) {
    fn show(&self) -> String {
        format!("{} {} {}", self.0.show(), self.1.show(), self.2.show())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn values_read_like_a_network_programmer_writes_them() {
        assert_eq!("none", None::<i32>.show());
        assert_eq!("ECONNRESET", Some("ECONNRESET").show());
        assert_eq!("[1, 32]", vec![Some(1), Some(32)].show());
        assert_eq!("12.5 ms", Duration::from_micros(12_540).show());
        assert_eq!("1016 ms", Duration::from_micros(1_015_998).show());
        assert_eq!("0 ms", Duration::ZERO.show());
        assert_eq!("0.001", 0.0011_f64.show());
        assert_eq!("3", 3.0_f64.show());
        assert_eq!("ok EINVAL", ("ok", "EINVAL").show());
        assert_eq!(
            "127.0.0.1:80",
            "127.0.0.1:80".parse::<SocketAddr>().unwrap().show()
        );
    }
}
