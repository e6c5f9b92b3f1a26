//! Places a request comes from: Cloudflare region codes, ISO country codes,
//! PoP codes and coordinates.

use core::fmt;

/// One of the 13 load-balancing regions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Region {
    /// Western North America.
    Wnam,
    /// Eastern North America.
    Enam,
    /// Western Europe.
    Weu,
    /// Eastern Europe.
    Eeu,
    /// Northern South America.
    Nsam,
    /// Southern South America.
    Ssam,
    /// Oceania.
    Oc,
    /// Middle East.
    Me,
    /// Northern Africa.
    Naf,
    /// Southern Africa.
    Saf,
    /// Southern Asia.
    Sas,
    /// Southeast Asia.
    Seas,
    /// Northeast Asia.
    Neas,
}

impl Region {
    /// Every region, in the order of [`Region::index`].
    pub const ALL: [Region; 13] = [
        Region::Wnam,
        Region::Enam,
        Region::Weu,
        Region::Eeu,
        Region::Nsam,
        Region::Ssam,
        Region::Oc,
        Region::Me,
        Region::Naf,
        Region::Saf,
        Region::Sas,
        Region::Seas,
        Region::Neas,
    ];

    /// How many regions there are.
    pub const COUNT: usize = 13;

    /// The region's code, as the API writes it (`WNAM`).
    pub const fn code(self) -> &'static str {
        match self {
            Region::Wnam => "WNAM",
            Region::Enam => "ENAM",
            Region::Weu => "WEU",
            Region::Eeu => "EEU",
            Region::Nsam => "NSAM",
            Region::Ssam => "SSAM",
            Region::Oc => "OC",
            Region::Me => "ME",
            Region::Naf => "NAF",
            Region::Saf => "SAF",
            Region::Sas => "SAS",
            Region::Seas => "SEAS",
            Region::Neas => "NEAS",
        }
    }

    /// Reads a region code, ignoring ASCII case.
    pub fn parse(code: &str) -> Option<Region> {
        Region::ALL.into_iter().find(|r| r.code().eq_ignore_ascii_case(code))
    }

    /// A dense index in `0..Region::COUNT`.
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An ISO 3166-1 alpha-2 country code, stored upper-case (`US`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Reads two ASCII letters, in either case.
    pub fn parse(code: &str) -> Option<CountryCode> {
        match code.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Some(CountryCode([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => None,
        }
    }

    /// The code, upper-case.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII letters by construction.
        core::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Cloudflare PoP (data center) code such as `SJC`: three or four ASCII
/// letters or digits, stored upper-case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PopCode {
    bytes: [u8; 4],
    len: u8,
}

impl PopCode {
    /// Reads a PoP code, in either case.
    pub fn parse(code: &str) -> Option<PopCode> {
        let raw = code.as_bytes();
        if !(3..=4).contains(&raw.len()) || !raw.iter().all(u8::is_ascii_alphanumeric) {
            return None;
        }
        let mut bytes = [0; 4];
        for (to, from) in bytes.iter_mut().zip(raw) {
            *to = from.to_ascii_uppercase();
        }
        Some(PopCode { bytes, len: raw.len() as u8 })
    }

    /// The code, upper-case.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl fmt::Display for PopCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A point on Earth, in degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coordinates {
    /// Latitude, −90 to 90.
    pub latitude: f64,
    /// Longitude, −180 to 180.
    pub longitude: f64,
}

impl Coordinates {
    /// A point, if both values are finite and in range.
    pub fn new(latitude: f64, longitude: f64) -> Option<Coordinates> {
        let ok = latitude.is_finite()
            && longitude.is_finite()
            && (-90.0..=90.0).contains(&latitude)
            && (-180.0..=180.0).contains(&longitude);
        ok.then_some(Coordinates { latitude, longitude })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_round_trip() {
        for (i, region) in Region::ALL.into_iter().enumerate() {
            assert_eq!(region.index(), i);
            assert_eq!(Region::parse(region.code()), Some(region));
            assert_eq!(Region::parse(&region.code().to_ascii_lowercase()), Some(region));
        }
        assert_eq!(Region::parse("MARS"), None);
    }

    #[test]
    fn codes_are_upper_cased_and_checked() {
        assert_eq!(CountryCode::parse("fr").unwrap().as_str(), "FR");
        assert_eq!(CountryCode::parse("FRA"), None);
        assert_eq!(CountryCode::parse("F1"), None);
        assert_eq!(CountryCode::parse("é"), None);
        assert_eq!(PopCode::parse("sjc").unwrap().as_str(), "SJC");
        assert_eq!(PopCode::parse("SJ"), None);
        assert_eq!(PopCode::parse("S-JC"), None);
        assert!(Coordinates::new(91.0, 0.0).is_none());
        assert!(Coordinates::new(f64::NAN, 0.0).is_none());
    }
}
