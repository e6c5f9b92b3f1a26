//! Serde helpers shared by the config model: `null` as the default value,
//! lists that may arrive wrapped in Cloudflare API envelopes, and the
//! lenient enums that keep unknown values for the compiler to report.

use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Deserializes `T`, reading JSON `null` as `T::default()`.
///
/// The API returns `null` for empty lists and maps (`"origins": null`,
/// `"check_regions": null`); both mean "none".
pub(crate) fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// `true`, for `#[serde(default = "...")]` on fields that default to enabled.
pub(crate) fn yes() -> bool {
    true
}

/// Deserializes a list that may be written bare (`[...]`), inside an API
/// envelope (`{"success": true, "result": [...]}`), as a ruleset
/// (`{"rules": [...]}`), or as `null`.
///
/// Envelopes nest: `{"result": {"rules": [...]}}` (a Rulesets API response)
/// is accepted too. Every other key of the wrapping object is ignored.
pub(crate) fn api_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    deserializer.deserialize_any(ApiList(PhantomData))
}

struct ApiList<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for ApiList<T> {
    type Value = Vec<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<T>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ApiList<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list, or an API envelope with a \"result\" or \"rules\" list")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        // Never trust a size hint for a preallocation: a hostile document can
        // claim any length.
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(items)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<T>, A::Error> {
        let mut found: Option<Vec<T>> = None;
        while let Some(key) = map.next_key::<EnvelopeKey>()? {
            match key {
                EnvelopeKey::Result | EnvelopeKey::Rules if found.is_none() => {
                    found = Some(map.next_value_seed(ApiList(PhantomData))?);
                }
                EnvelopeKey::Result | EnvelopeKey::Rules => {
                    return Err(de::Error::custom("an envelope holds both \"result\" and \"rules\""));
                }
                EnvelopeKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        found.ok_or_else(|| de::Error::missing_field("result"))
    }
}

enum EnvelopeKey {
    Result,
    Rules,
    Other,
}

impl<'de> Deserialize<'de> for EnvelopeKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = EnvelopeKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<EnvelopeKey, E> {
                Ok(match key {
                    "result" => EnvelopeKey::Result,
                    "rules" => EnvelopeKey::Rules,
                    _ => EnvelopeKey::Other,
                })
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Declares an API string enum that never fails to deserialize.
///
/// Known spellings map to variants; any other string is kept as `Unknown` so
/// that loading a document accepts it and the compiler reports it with its
/// path and the list of accepted values. `null` reads as the default.
macro_rules! api_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident => $text:literal $(| $alias:literal)*,
            )+
        }
        default = $default:ident;
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the library does not know. Loading keeps
            /// it; compiling rejects it with its path.
            Unknown(alloc::string::String),
        }

        impl $name {
            /// Every spelling the API documents, as written in JSON.
            pub const VALUES: &'static [&'static str] = &[$($text),+];

            /// The JSON spelling of this value.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Unknown(other) => other,
                }
            }

            /// Reads a JSON spelling; an unknown one becomes [`Self::Unknown`].
            pub fn parse(text: &str) -> Self {
                match text {
                    $($text $(| $alias)* => Self::$variant,)+
                    other => Self::Unknown(other.into()),
                }
            }

            /// Whether this is a value the API documents.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::$default
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = Option::<alloc::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Ok(text.map(|t| Self::parse(&t)).unwrap_or_default())
            }
        }
    };
}

pub(crate) use api_enum;

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::{String, ToString};

    #[derive(Deserialize)]
    struct Holder {
        #[serde(deserialize_with = "api_list")]
        items: Vec<u32>,
    }

    fn items(json: &str) -> Result<Vec<u32>, serde_json::Error> {
        serde_json::from_str::<Holder>(json).map(|h| h.items)
    }

    #[test]
    fn lists_bare_enveloped_and_null() {
        assert_eq!(items(r#"{"items": [1, 2]}"#).unwrap(), [1, 2]);
        assert_eq!(items(r#"{"items": null}"#).unwrap(), Vec::<u32>::new());
        assert_eq!(
            items(r#"{"items": {"success": true, "errors": [], "result": [3], "result_info": {"page": 1}}}"#).unwrap(),
            [3]
        );
        assert_eq!(items(r#"{"items": {"result": {"id": "x", "rules": [4, 5]}}}"#).unwrap(), [4, 5]);
    }

    #[test]
    fn envelope_without_a_list_is_an_error() {
        let err = items(r#"{"items": {"success": true}}"#).unwrap_err();
        assert!(err.to_string().contains("result"), "{err}");
        assert!(items(r#"{"items": {"result": [1], "rules": [2]}}"#).is_err());
        assert!(items(r#"{"items": "text"}"#).is_err());
    }

    api_enum! {
        /// Test enum.
        pub enum Colour {
            /// Red.
            Red => "red",
            /// Empty means blue.
            Blue => "blue" | "",
        }
        default = Red;
    }

    #[test]
    fn api_enums_keep_unknown_values() {
        assert_eq!(Colour::VALUES, ["red", "blue"]);
        let parsed: Vec<Colour> = serde_json::from_str(r#"["red", "", null, "mauve"]"#).unwrap();
        assert_eq!(parsed, [Colour::Red, Colour::Blue, Colour::Red, Colour::Unknown(String::from("mauve"))]);
        assert!(!parsed[3].is_known());
        assert_eq!(serde_json::to_string(&parsed).unwrap(), r#"["red","blue","red","mauve"]"#);
    }
}
