//! The recorded baselines (fixtures/baselines/<kernel release>.json) and the
//! one that fits a kernel: the report of the same release, else of the same
//! version with another build suffix (6.18.44-fc-v657 and 6.18.44-fc-v769),
//! else of the same major.minor series (6.18.7 and 6.18.44). The baselines are
//! built into the binary (build.rs), so an installed sockspec finds them from
//! any directory; `SOCKSPEC_BASELINES=DIR` reads DIR/*.json instead.

use std::borrow::Cow;
use std::path::PathBuf;

use super::json::{self, Report};

mod built_in {
    include!(concat!(env!("OUT_DIR"), "/baselines.rs"));
}

/// Names a directory of `<release>.json` reports to use instead of the
/// built-in baselines.
pub const DIR_ENV: &str = "SOCKSPEC_BASELINES";

/// How a baseline fits the kernel it is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Match {
    /// Recorded on this very kernel release.
    Release,
    /// The same kernel version (6.18.44), another build suffix.
    Version,
    /// The same major.minor series (6.18), another version.
    Series,
}

/// Where a recorded baseline is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Built into the binary from fixtures/baselines.
    BuiltIn(&'static str),
    /// A file in `SOCKSPEC_BASELINES`.
    File(PathBuf),
}

/// One recorded baseline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The kernel release it was recorded on (its file name without `.json`).
    pub release: String,
    pub origin: Origin,
}

impl Recorded {
    pub fn text(&self) -> Result<Cow<'static, str>, String> {
        match &self.origin {
            Origin::BuiltIn(text) => Ok(Cow::Borrowed(text)),
            Origin::File(p) => std::fs::read_to_string(p)
                .map(Cow::Owned)
                .map_err(|e| format!("cannot read {}: {e}", p.display())),
        }
    }

    /// The report, of any format this sockspec reads.
    pub fn report(&self) -> Result<Report, String> {
        json::parse(&self.text()?).map_err(|e| format!("the baseline {self} {e}"))
    }
}

impl std::fmt::Display for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.origin {
            Origin::BuiltIn(_) => write!(f, "{} (built in)", self.release),
            Origin::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The baseline chosen for a kernel, and how it fits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub recorded: Recorded,
    pub matched: Match,
}

impl Found {
    /// One line for a person: which baseline, and why it was chosen for `release`.
    pub fn describe(&self, release: &str) -> String {
        let why = match self.matched {
            Match::Release => "recorded on this kernel".to_string(),
            Match::Version => format!(
                "the same kernel version {}, another build than this {release}",
                version_of(release).unwrap_or_default()
            ),
            Match::Series => {
                let [major, minor, _] = numbers(release).unwrap_or_default();
                format!("the same {major}.{minor} series as this {release}")
            }
        };
        match &self.recorded.origin {
            Origin::BuiltIn(_) => {
                format!("the built-in baseline {} ({why})", self.recorded.release)
            }
            Origin::File(p) => format!("the baseline {} ({why})", p.display()),
        }
    }
}

/// Every recorded baseline: `SOCKSPEC_BASELINES`'s files when it is set,
/// else the built-in ones; in release order.
pub fn recorded() -> Result<Vec<Recorded>, String> {
    let Some(dir) = std::env::var_os(DIR_ENV) else {
        return Ok(built_in::BUILT_IN
            .iter()
            .map(|(release, text)| Recorded {
                release: release.to_string(),
                origin: Origin::BuiltIn(text),
            })
            .collect());
    };
    let dir = PathBuf::from(dir);
    let unreadable = |e: std::io::Error| {
        format!(
            "cannot list the baselines in {DIR_ENV}={}: {e}",
            dir.display()
        )
    };
    let mut all = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(unreadable)? {
        let path = entry.map_err(unreadable)?.path();
        let release = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"));
        if let Some(release) = release {
            all.push(Recorded {
                release: release.to_string(),
                origin: Origin::File(path.clone()),
            });
        }
    }
    all.sort_by(|a, b| a.release.cmp(&b.release));
    Ok(all)
}

/// The recorded baseline that fits kernel `release` (see the module's doc),
/// or None when none was recorded on the same major.minor series.
pub fn find(release: &str) -> Option<Found> {
    let all = recorded().ok()?;
    let (i, matched) = choose(release, all.iter().map(|r| r.release.as_str()))?;
    Some(Found {
        recorded: all.into_iter().nth(i)?,
        matched,
    })
}

/// Of the `candidates` (kernel releases), the index of the one that fits
/// `release` best, and how. Within the same version the build suffix most
/// like this one's wins (most words shared, then fewest differing); within
/// the same series the nearest patch level, the newer on a tie; the
/// candidate that sorts last breaks any remaining tie.
pub fn choose<'a>(
    release: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<(usize, Match)> {
    let mine = numbers(release);
    let suffix = suffix_of(release);
    let mut best: Option<(Match, Rank<'a>, usize)> = None;
    for (i, c) in candidates.into_iter().enumerate() {
        let theirs = numbers(c);
        let (matched, rank) = if c == release {
            (Match::Release, Rank::default())
        } else {
            match (mine, theirs) {
                (Some(m), Some(t)) if m == t => (
                    Match::Version,
                    Rank {
                        likeness: likeness(suffix, suffix_of(c)),
                        ..Rank::default()
                    },
                ),
                (Some(m), Some(t)) if m[..2] == t[..2] => (
                    Match::Series,
                    Rank {
                        distance: m[2].abs_diff(t[2]),
                        newer: t[2] > m[2],
                        ..Rank::default()
                    },
                ),
                _ => continue,
            }
        };
        let rank = Rank { name: c, ..rank };
        let better = match &best {
            None => true,
            Some((bm, br, _)) => matched < *bm || (matched == *bm && rank.beats(br)),
        };
        if better {
            best = Some((matched, rank, i));
        }
    }
    best.map(|(m, _, i)| (i, m))
}

/// How well a candidate fits within its kind of match.
#[derive(Clone, Copy, Debug, Default)]
struct Rank<'a> {
    /// How alike its build suffix is to ours (same version).
    likeness: Likeness,
    /// Patch levels away from ours (same series).
    distance: u32,
    /// Its patch level is above ours (same series).
    newer: bool,
    name: &'a str,
}

impl Rank<'_> {
    fn beats(&self, other: &Rank) -> bool {
        let key = |r: &Rank, o: &Rank| {
            (
                r.likeness.shared,
                o.likeness.differing,
                o.distance,
                r.newer,
                r.name.to_string(),
            )
        };
        key(self, other) > key(other, self)
    }
}

/// The leading version numbers of a release, as major, minor, patch (0 when
/// absent): "6.18.44-fc-v769" -> [6, 18, 44], "6.18-rc3" -> [6, 18, 0].
fn numbers(release: &str) -> Option<[u32; 3]> {
    let version = version_of(release)?;
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    let major = parts.next()??;
    let minor = parts.next()??;
    let patch = parts.next().unwrap_or(Some(0))?;
    Some([major, minor, patch])
}

/// "6.18.44" of "6.18.44-fc-v769": the leading digits and dots, when they
/// hold at least major.minor.
fn version_of(release: &str) -> Option<&str> {
    let end = release
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(release.len());
    let v = release[..end].trim_end_matches('.');
    (v.split('.').count() >= 2).then_some(v)
}

/// What follows the version: "-fc-v769", "+deb12-cloud-amd64", "-56-cloud-amd64".
fn suffix_of(release: &str) -> &str {
    let v = version_of(release).unwrap_or_default();
    &release[v.len()..]
}

/// How alike two build suffixes are: the words (between `-`, `+`, `.`, `_`)
/// they share, and the words only one of them has. "-57-cloud-amd64" shares
/// 2 words with "-56-cloud-amd64" (2 differ) and 1 with "-56-amd64" (3 differ).
fn likeness(a: &str, b: &str) -> Likeness {
    let words = |s: &'_ str| -> Vec<String> {
        s.split(['-', '+', '.', '_'])
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (a, b) = (words(a), words(b));
    let shared = a.iter().filter(|w| b.contains(w)).count();
    Likeness {
        shared,
        differing: a.len() + b.len() - 2 * shared,
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Likeness {
    shared: usize,
    differing: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    /// The baselines recorded so far, plus one kernel of another flavour.
    const RECORDED: &[&str] = &[
        "6.1.0-56-cloud-amd64",
        "6.12.117+deb12-cloud-amd64",
        "6.18.44-fc-v769",
        "6.1.0-56-amd64",
    ];

    #[rstest]
    #[case::same_release("6.18.44-fc-v769", Some(("6.18.44-fc-v769", Match::Release)))]
    #[case::another_build("6.18.44-fc-v657", Some(("6.18.44-fc-v769", Match::Version)))]
    #[case::another_distro_build("6.18.44-arch1-1", Some(("6.18.44-fc-v769", Match::Version)))]
    #[case::no_suffix("6.18.44", Some(("6.18.44-fc-v769", Match::Version)))]
    #[case::older_patch("6.18.7-fc-v769", Some(("6.18.44-fc-v769", Match::Series)))]
    #[case::newer_patch("6.12.150+deb12-cloud-amd64", Some(("6.12.117+deb12-cloud-amd64", Match::Series)))]
    #[case::rc_of_the_series("6.18-rc3", Some(("6.18.44-fc-v769", Match::Series)))]
    #[case::debian_abi_bump_keeps_flavour("6.1.0-57-cloud-amd64", Some(("6.1.0-56-cloud-amd64", Match::Version)))]
    #[case::debian_generic_flavour("6.1.0-57-amd64", Some(("6.1.0-56-amd64", Match::Version)))]
    #[case::exact_beats_flavour("6.1.0-56-amd64", Some(("6.1.0-56-amd64", Match::Release)))]
    #[case::series_6_1_is_not_6_10("6.10.3", None)]
    #[case::series_6_12_is_not_6_1("6.1.12", Some(("6.1.0-56-cloud-amd64", Match::Series)))]
    #[case::other_major("7.18.44-fc-v769", None)]
    #[case::older_kernel("5.15.0-91-generic", None)]
    #[case::not_a_version("unknown", None)]
    #[case::major_only("6-fc", None)]
    #[case::empty("", None)]
    fn picks_the_closest_recorded_kernel(
        #[case] release: &str,
        #[case] want: Option<(&str, Match)>,
    ) {
        let got = choose(release, RECORDED.iter().copied()).map(|(i, m)| (RECORDED[i], m));
        assert_eq!(want, got);
    }

    #[rstest]
    #[case::nearest_patch_wins(&["6.12.10", "6.12.117"], "6.12.100", "6.12.117")]
    #[case::nearest_below(&["6.12.10", "6.12.117"], "6.12.20", "6.12.10")]
    #[case::tie_goes_to_the_newer(&["6.12.10", "6.12.30"], "6.12.20", "6.12.30")]
    #[case::version_beats_series(&["6.12.117-a", "6.12.118-a"], "6.12.118-b", "6.12.118-a")]
    #[case::release_beats_version(&["6.12.118-b", "6.12.118-a"], "6.12.118-a", "6.12.118-a")]
    #[case::likest_suffix(&["6.18.44-fc-v657", "6.18.44-deb-1"], "6.18.44-fc-v800", "6.18.44-fc-v657")]
    #[case::last_name_breaks_ties(&["6.18.44-b", "6.18.44-c", "6.18.44-a"], "6.18.44-z", "6.18.44-c")]
    fn ranks_within_a_kind_of_match(
        #[case] candidates: &[&str],
        #[case] release: &str,
        #[case] want: &str,
    ) {
        let got = choose(release, candidates.iter().copied()).map(|(i, _)| candidates[i]);
        assert_eq!(Some(want), got);
    }

    #[test]
    fn describes_what_it_chose_and_why() {
        let built_in = |release: &str, matched| Found {
            recorded: Recorded {
                release: release.into(),
                origin: Origin::BuiltIn(""),
            },
            matched,
        };
        assert_eq!(
            "the built-in baseline 6.18.44-fc-v769 (the same kernel version 6.18.44, \
             another build than this 6.18.44-fc-v657)",
            built_in("6.18.44-fc-v769", Match::Version).describe("6.18.44-fc-v657")
        );
        assert_eq!(
            "the built-in baseline 6.18.44-fc-v769 (the same 6.18 series as this 6.18.7)",
            built_in("6.18.44-fc-v769", Match::Series).describe("6.18.7")
        );
        let file = Found {
            recorded: Recorded {
                release: "6.18.44".into(),
                origin: Origin::File("/b/6.18.44.json".into()),
            },
            matched: Match::Release,
        };
        assert_eq!(
            "the baseline /b/6.18.44.json (recorded on this kernel)",
            file.describe("6.18.44")
        );
    }

    #[test]
    fn find_gives_each_built_in_baseline_for_its_own_release() {
        if std::env::var_os(DIR_ENV).is_some() {
            return;
        }
        for (release, _) in built_in::BUILT_IN {
            let found = find(release).expect("a baseline");
            assert_eq!(
                (release.to_string(), Match::Release),
                (found.recorded.release, found.matched)
            );
        }
    }

    #[test]
    fn every_committed_baseline_is_built_in_and_readable() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/baselines");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("fixtures/baselines")
            .filter_map(|e| {
                let n = e.expect("entry").file_name().into_string().expect("utf-8");
                n.strip_suffix(".json").map(str::to_string)
            })
            .collect();
        on_disk.sort();
        let built_in: Vec<String> = built_in::BUILT_IN
            .iter()
            .map(|(r, _)| r.to_string())
            .collect();
        assert_eq!(on_disk, built_in);
        for (release, text) in built_in::BUILT_IN {
            let report = json::parse(text).unwrap_or_else(|e| panic!("{release} {e}"));
            assert_eq!(*release, report.kernel);
        }
    }
}
