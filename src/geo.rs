//! Places a request comes from: Cloudflare region codes, ISO country codes,
//! PoP codes and coordinates.
//!
//! # Countries and regions
//!
//! Geo steering, `dynamic_latency` and pool sets need the request's
//! [`Region`]. The host sets it when it knows it (the region of the data
//! center handling the request, as Cloudflare does); when only the country
//! is known, the region comes from a table bundled with the library
//! ([`CountryCode::region`]): 676 bytes, built at compile time, one index
//! per lookup.
//!
//! Cloudflare serves this mapping from its Regions API rather than
//! documenting it; the table follows the API's published WNAM sample
//! (Mexico and Haiti in WNAM) and otherwise the region names' geography:
//! Central America and the Caribbean in NSAM, Brazil and Bolivia with the
//! Southern Cone in SSAM, Africa split at the equator, Central Asia in SAS,
//! Turkey, Cyprus, Greece, the Baltic states and the Balkans in EEU. The
//! United States and Canada are split between WNAM and ENAM by state and
//! province; the country alone maps to **ENAM**, where most of their people
//! live. A host that knows the client's state, or its data center's
//! region, sets the region on the request, and that always wins.

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

impl CountryCode {
    /// The load-balancing region the country belongs to, from the bundled
    /// table (see [the module notes](crate::geo#countries-and-regions)):
    /// `None` only for Antarctica (`AQ`) and codes that are not countries
    /// (`XX`, `T1`, `EU`).
    ///
    /// The United States and Canada are split between [`Region::Wnam`] and
    /// [`Region::Enam`] by state and province; for the country alone this
    /// returns [`Region::Enam`], where most of their people live. A host
    /// that knows better (the region of its data center, or the client's
    /// state) sets the request's region itself, which always wins.
    ///
    /// ```
    /// use lbsteer::geo::{CountryCode, Region};
    /// let region = |code| CountryCode::parse(code).and_then(CountryCode::region);
    /// assert_eq!(region("fr"), Some(Region::Weu));
    /// assert_eq!(region("JP"), Some(Region::Neas));
    /// assert_eq!(region("US"), Some(Region::Enam), "split countries default to ENAM");
    /// assert_eq!(region("AQ"), None);
    /// ```
    pub fn region(self) -> Option<Region> {
        let [a, b] = self.0;
        let at = usize::from(a - b'A') * 26 + usize::from(b - b'A');
        Region::ALL.get(usize::from(COUNTRY_REGIONS[at])).copied()
    }
}

// The country → region table.
//
// Cloudflare publishes the mapping through its Regions API
// (`GET /accounts/{id}/load_balancers/regions`), not as a document; the
// only published sample (the API's WNAM example) puts Mexico, Haiti, the
// western US states and Alberta and British Columbia in WNAM. The rest
// follows the region names geographically. Keep it sorted by region and
// alphabetical inside one: the compile-time check rejects a country listed
// twice.
const COUNTRIES_BY_REGION: [(Region, &str); Region::COUNT] = [
    // The United States and Canada are split by state and province
    // (AB, BC and the western states are WNAM); by country alone they are
    // ENAM, where most of their people are.
    (Region::Wnam, "HT MX"),
    (Region::Enam, "BM CA GL PM PR US VI"),
    // Latin America north of the Southern Cone, Central America and the
    // Caribbean.
    (
        Region::Nsam,
        "AG AI AW BB BL BQ BS BZ CO CR CU CW DM DO EC GD GF GP GT GY HN JM KN KY LC MF MQ MS NI PA PE SR SV SX TC \
         TT VC VE VG",
    ),
    (Region::Ssam, "AR BO BR CL FK GS PY UY"),
    (Region::Weu, "AD AT AX BE CH DE DK ES FI FO FR GB GG GI IE IM IS IT JE LI LU MC MT NL NO PT SE SJ SM VA"),
    (Region::Eeu, "AL BA BG BY CY CZ EE GR HR HU LT LV MD ME MK PL RO RS RU SI SK TR UA XK"),
    (Region::Me, "AE AM AZ BH GE IL IQ IR JO KW LB OM PS QA SA SY YE"),
    // Africa north of the equator (by capital), and south of it.
    (
        Region::Naf,
        "BF BJ CF CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW LR LY MA ML MR NE NG SD SL SN SO SS ST TD TG TN UG",
    ),
    (Region::Saf, "AO BI BV BW CD CG KE KM LS MG MU MW MZ NA RE RW SC SH SZ TF TZ YT ZA ZM ZW"),
    (Region::Sas, "AF BD BT IN IO KG KZ LK MV NP PK TJ TM UZ"),
    (Region::Seas, "BN CC CX ID KH LA MM MY PH SG TH TL VN"),
    (Region::Neas, "CN HK JP KP KR MN MO TW"),
    (Region::Oc, "AS AU CK FJ FM GU HM KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV UM VU WF WS"),
];

/// "No region" in [`COUNTRY_REGIONS`].
const NO_REGION: u8 = u8::MAX;

/// The region index of every two-letter code, `AA` to `ZZ`: 676 bytes,
/// built at compile time, read with one index.
static COUNTRY_REGIONS: [u8; 26 * 26] = country_regions();

const fn country_regions() -> [u8; 26 * 26] {
    let mut table = [NO_REGION; 26 * 26];
    let mut r = 0;
    while r < COUNTRIES_BY_REGION.len() {
        let (region, codes) = COUNTRIES_BY_REGION[r];
        let codes = codes.as_bytes();
        let mut i = 0;
        while i < codes.len() {
            let (a, b) = (codes[i], codes[i + 1]);
            assert!(a.is_ascii_uppercase() && b.is_ascii_uppercase(), "upper-case codes");
            let at = (a - b'A') as usize * 26 + (b - b'A') as usize;
            assert!(table[at] == NO_REGION, "a country listed twice");
            table[at] = region as u8;
            i += 2;
            // Separators: spaces (and a line break in the source).
            while i < codes.len() && !codes[i].is_ascii_uppercase() {
                i += 1;
            }
        }
        r += 1;
    }
    table
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

    fn region_of(code: &str) -> Option<Region> {
        CountryCode::parse(code).and_then(CountryCode::region)
    }

    #[test]
    fn every_country_has_a_region() {
        // ISO 3166-1 alpha-2, every officially assigned code.
        const ISO: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ \
            BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG \
            EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU \
            ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV \
            LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU \
            NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN \
            SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI \
            VN VU WF WS YE YT ZA ZM ZW";
        let codes: std::vec::Vec<&str> = ISO.split_whitespace().collect();
        assert_eq!(codes.len(), 249);
        let unmapped: std::vec::Vec<&str> = codes.iter().copied().filter(|c| region_of(c).is_none()).collect();
        assert_eq!(unmapped, ["AQ"], "only Antarctica has no region");
        let mapped = (0..26 * 26).filter(|&i| COUNTRY_REGIONS[i] != NO_REGION).count();
        assert_eq!(mapped, 249, "the 248 mapped ISO codes and Kosovo's XK");
        for region in Region::ALL {
            assert!(COUNTRY_REGIONS.contains(&(region as u8)), "{region} has countries");
        }
    }

    #[test]
    fn countries_map_to_their_regions() {
        for (code, region) in [
            ("MX", Region::Wnam),
            ("HT", Region::Wnam),
            ("BR", Region::Ssam),
            ("AR", Region::Ssam),
            ("CO", Region::Nsam),
            ("PA", Region::Nsam),
            ("FR", Region::Weu),
            ("gb", Region::Weu),
            ("PL", Region::Eeu),
            ("RU", Region::Eeu),
            ("XK", Region::Eeu),
            ("AE", Region::Me),
            ("EG", Region::Naf),
            ("NG", Region::Naf),
            ("ZA", Region::Saf),
            ("KE", Region::Saf),
            ("IN", Region::Sas),
            ("SG", Region::Seas),
            ("JP", Region::Neas),
            ("AU", Region::Oc),
        ] {
            assert_eq!(region_of(code), Some(region), "{code}");
        }
        for not_a_country in ["XX", "T1", "EU", "ZZ"] {
            assert_eq!(region_of(not_a_country), None, "{not_a_country}");
        }
    }

    #[test]
    fn split_countries_default_to_enam() {
        // The United States and Canada span WNAM and ENAM; by country alone
        // they are ENAM (the documented default).
        assert_eq!(region_of("US"), Some(Region::Enam));
        assert_eq!(region_of("CA"), Some(Region::Enam));
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
