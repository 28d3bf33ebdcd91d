//! The Nexmark event stream: persons, auctions and bids of an online auction site, as the
//! Nexmark benchmark models them, written as the JSON events Flink's Nexmark Kafka table reads
//! (`event_type` 0, 1 or 2, and one of the nested rows `person`, `auction`, `bid`).
//!
//! The model, as the benchmark's reference generators document it:
//! - of every 50 events, 1 is a new person, 3 are new auctions and 46 are bids, by event
//!   number (`n % 50`: 0 person, 1–3 auctions, the rest bids);
//! - ids grow with the event number: the `k`th person is `1000 + k`, the `k`th auction
//!   `1000 + k`; an auction's seller and a bid's bidder are among the 1,000 most recent persons
//!   (or up to 10 not yet seen), a bid's auction among the 100 most recent (or 10 ahead);
//! - hot items: a bid is on the newest auction of its block of 100 half the time, and three in
//!   four sellers and bidders are the newest person of their block;
//! - prices are log-uniform between $1 and $1M (in cents), categories 10–14, an auction expires
//!   about as long after its start as it takes for 100 more auctions to open;
//! - event time advances at a fixed rate: event `n` is at `base + n / rate`, whatever the rate
//!   of producing;
//! - each record is padded with `extra` text to an average size (person 200, auction 500, bid
//!   100 bytes).
//!
//! Every event is a pure function of the seed and its number (its own random stream), so any
//! part of the stream can be produced again, by any number of writers.
//!
//! Where the reference generators differ: bids carry Flink's `channel` and `url` (half of them
//! one of four hot channels, the rest `channel-<k>` for `k` below 10,000 with a URL of its own);
//! a bid's bidder is `1000 + k` as in the model's description and Beam's generator (Flink's
//! generator adds the 1,000 twice); the stream starts at event 0, a person.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// Persons, auctions and bids per [`TOTAL`] events.
const PERSONS: u64 = 1;
const AUCTIONS: u64 = 3;
const TOTAL: u64 = 50;
const FIRST_PERSON_ID: u64 = 1000;
const FIRST_AUCTION_ID: u64 = 1000;
const FIRST_CATEGORY_ID: u64 = 10;
const CATEGORIES: u64 = 5;
/// How far ahead of the newest person or auction a random id may point.
const ID_LEAD: u64 = 10;
/// Block of ids within which the newest is "hot".
const HOT_BLOCK: u64 = 100;
/// One in this many bids is not on a hot auction.
const HOT_AUCTION_RATIO: u32 = 2;
/// One in this many sellers and bidders is not a hot one.
const HOT_PERSON_RATIO: u32 = 4;
const ACTIVE_PEOPLE: u64 = 1000;
const IN_FLIGHT_AUCTIONS: u64 = 100;
const AVG_PERSON_BYTES: usize = 200;
const AVG_AUCTION_BYTES: usize = 500;
const AVG_BID_BYTES: usize = 100;
/// Channels a bid comes through besides the hot four.
const CHANNELS: u32 = 10_000;

const FIRST_NAMES: [&str; 11] = [
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter",
];
const LAST_NAMES: [&str; 9] = [
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris",
];
const CITIES: [&str; 10] = [
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
];
const STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];
const HOT_CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];

/// 2015-07-15T00:00:00Z, the reference generator's default start of event time.
pub const BASE_TIME_MS: i64 = 1_436_918_400_000;

/// The stream's settings.
#[derive(Debug, Clone, Copy)]
pub struct Nexmark {
    /// Seed of every event's random stream.
    pub seed: u64,
    /// Events per second of event time.
    pub event_rate: u64,
    /// Event time of event 0, in milliseconds since the epoch.
    pub base_time_ms: i64,
}

impl Default for Nexmark {
    fn default() -> Self {
        Nexmark {
            seed: 42,
            event_rate: 10_000,
            base_time_ms: BASE_TIME_MS,
        }
    }
}

/// A new person.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    /// The person's id (`1000` + the count of persons before).
    pub id: u64,
    /// First and last name.
    pub name: String,
    /// An e-mail address.
    pub email_address: String,
    /// Four groups of four digits.
    pub credit_card: String,
    /// A US city.
    pub city: &'static str,
    /// A US state (drawn apart from the city).
    pub state: &'static str,
    #[serde(serialize_with = "timestamp")]
    /// When the person registered (event time, ms since the epoch).
    pub date_time: i64,
    /// Padding to the average record size.
    pub extra: String,
}

/// A new auction.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Auction {
    /// The auction's id (`1000` + the count of auctions before).
    pub id: u64,
    /// The item's name.
    pub item_name: String,
    /// The item's description.
    pub description: String,
    /// The opening price, in cents.
    pub initial_bid: u64,
    /// The reserve price, in cents (above the opening price).
    pub reserve: u64,
    #[serde(serialize_with = "timestamp")]
    /// When the auction opened (event time, ms since the epoch).
    pub date_time: i64,
    #[serde(serialize_with = "timestamp")]
    /// When it closes.
    pub expires: i64,
    /// The selling person's id.
    pub seller: u64,
    /// A category id, 10–14.
    pub category: u64,
    /// Padding to the average record size.
    pub extra: String,
}

/// A bid on an auction.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bid {
    /// The auction bid on.
    pub auction: u64,
    /// The bidding person's id.
    pub bidder: u64,
    /// The bid, in cents.
    pub price: u64,
    /// Where the bid came from (`Google`, ..., or `channel-<k>`).
    pub channel: String,
    /// The channel's URL.
    pub url: String,
    #[serde(serialize_with = "timestamp")]
    /// When the bid was made (event time, ms since the epoch).
    pub date_time: i64,
    /// Padding to the average record size.
    pub extra: String,
}

/// One event of the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A new person (`event_type` 0).
    Person(Person),
    /// A new auction (`event_type` 1).
    Auction(Auction),
    /// A bid (`event_type` 2).
    Bid(Bid),
}

/// The JSON form Flink's Nexmark table reads.
#[derive(Serialize)]
struct Json<'a> {
    event_type: u8,
    person: Option<&'a Person>,
    auction: Option<&'a Auction>,
    bid: Option<&'a Bid>,
}

impl Event {
    /// The event as one JSON object: `{"event_type":..,"person":..,"auction":..,"bid":..}`.
    pub fn to_json(&self) -> String {
        let json = match self {
            Event::Person(p) => Json {
                event_type: 0,
                person: Some(p),
                auction: None,
                bid: None,
            },
            Event::Auction(a) => Json {
                event_type: 1,
                person: None,
                auction: Some(a),
                bid: None,
            },
            Event::Bid(b) => Json {
                event_type: 2,
                person: None,
                auction: None,
                bid: Some(b),
            },
        };
        // Plain structs of strings and integers always serialize.
        serde_json::to_string(&json).unwrap_or_default()
    }

    /// The event's time, in milliseconds since the epoch.
    pub fn date_time(&self) -> i64 {
        match self {
            Event::Person(p) => p.date_time,
            Event::Auction(a) => a.date_time,
            Event::Bid(b) => b.date_time,
        }
    }
}

/// `yyyy-MM-dd HH:mm:ss.SSS` in UTC, as Flink's JSON format writes a `TIMESTAMP(3)`.
fn timestamp<S: serde::Serializer>(ms: &i64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&crate::data::format_timestamp(*ms))
}

impl Nexmark {
    /// Event `n` of the stream.
    pub fn event(&self, n: u64) -> Event {
        let mut rng = StdRng::seed_from_u64(mix(self.seed, n));
        let time = self.time_of(n);
        match n % TOTAL {
            r if r < PERSONS => Event::Person(self.person(n, time, &mut rng)),
            r if r < PERSONS + AUCTIONS => Event::Auction(self.auction(n, time, &mut rng)),
            _ => Event::Bid(self.bid(n, time, &mut rng)),
        }
    }

    /// The event time of event `n`.
    pub fn time_of(&self, n: u64) -> i64 {
        let micros = u128::from(n) * 1_000_000 / u128::from(self.event_rate.max(1));
        self.base_time_ms + (micros / 1000) as i64
    }

    fn person(&self, n: u64, time: i64, rng: &mut StdRng) -> Person {
        let name = format!(
            "{} {}",
            FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())],
            LAST_NAMES[rng.random_range(0..LAST_NAMES.len())]
        );
        let email_address = format!("{}@{}.com", text(rng, 7, ' '), text(rng, 5, ' '));
        let credit_card = (0..4)
            .map(|_| format!("{:04}", rng.random_range(0..10_000)))
            .collect::<Vec<_>>()
            .join(" ");
        let city = CITIES[rng.random_range(0..CITIES.len())];
        let state = STATES[rng.random_range(0..STATES.len())];
        let size = 8 + name.len() + email_address.len() + credit_card.len() + city.len() + 2;
        Person {
            id: FIRST_PERSON_ID + last_person(n),
            name,
            email_address,
            credit_card,
            city,
            state,
            date_time: time,
            extra: extra(rng, size, AVG_PERSON_BYTES),
        }
    }

    fn auction(&self, n: u64, time: i64, rng: &mut StdRng) -> Auction {
        let seller = if rng.random_range(0..HOT_PERSON_RATIO) > 0 {
            (last_person(n) / HOT_BLOCK) * HOT_BLOCK
        } else {
            random_person(n, rng)
        };
        let category = FIRST_CATEGORY_ID + rng.random_range(0..CATEGORIES);
        let initial_bid = price(rng);
        // Open about as long as it takes for the next IN_FLIGHT_AUCTIONS auctions to open.
        let ahead = IN_FLIGHT_AUCTIONS * TOTAL / AUCTIONS;
        let horizon = (self.time_of(n + ahead) - time).max(0) as u64;
        let expires = time + 1 + rng.random_range(0..(2 * horizon).max(1)) as i64;
        let item_name = text(rng, 20, ' ');
        let description = text(rng, 100, ' ');
        let reserve = initial_bid + price(rng);
        let size = 8 + item_name.len() + description.len() + 40;
        Auction {
            id: FIRST_AUCTION_ID + last_auction(n),
            item_name,
            description,
            initial_bid,
            reserve,
            date_time: time,
            expires,
            seller: FIRST_PERSON_ID + seller,
            category,
            extra: extra(rng, size, AVG_AUCTION_BYTES),
        }
    }

    fn bid(&self, n: u64, time: i64, rng: &mut StdRng) -> Bid {
        let auction = if rng.random_range(0..HOT_AUCTION_RATIO) > 0 {
            (last_auction(n) / HOT_BLOCK) * HOT_BLOCK
        } else {
            random_auction(n, rng)
        };
        let bidder = if rng.random_range(0..HOT_PERSON_RATIO) > 0 {
            (last_person(n) / HOT_BLOCK) * HOT_BLOCK + 1
        } else {
            random_person(n, rng)
        };
        let price = price(rng);
        let (channel, url) = if rng.random_bool(0.5) {
            let i = rng.random_range(0..HOT_CHANNELS.len());
            (
                HOT_CHANNELS[i].to_string(),
                channel_url(self.seed, i as u32, true),
            )
        } else {
            let k = rng.random_range(0..CHANNELS);
            (format!("channel-{k}"), channel_url(self.seed, k, false))
        };
        Bid {
            auction: FIRST_AUCTION_ID + auction,
            bidder: FIRST_PERSON_ID + bidder,
            price,
            channel,
            url,
            date_time: time,
            extra: extra(rng, 32, AVG_BID_BYTES),
        }
    }
}

/// The random stream of event `n` under `seed` (splitmix64 of both).
fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The index (from 0) of the newest person at event `n`.
fn last_person(n: u64) -> u64 {
    let offset = n % TOTAL;
    // A group's persons come first: past them, the newest is the group's last person.
    let within = if offset < PERSONS {
        offset
    } else {
        PERSONS - 1
    };
    (n / TOTAL) * PERSONS + within
}

/// The index (from 0) of the newest auction at event `n` (an auction event's own).
fn last_auction(n: u64) -> u64 {
    let (epoch, offset) = (n / TOTAL, n % TOTAL);
    if offset < PERSONS {
        // A person opens each group of events: the newest auction is the previous group's last.
        return (epoch * AUCTIONS).saturating_sub(1);
    }
    epoch * AUCTIONS + (offset - PERSONS).min(AUCTIONS - 1)
}

/// A person among the most recent [`ACTIVE_PEOPLE`], or up to [`ID_LEAD`] not yet seen.
fn random_person(n: u64, rng: &mut StdRng) -> u64 {
    let people = last_person(n) + 1;
    let active = people.min(ACTIVE_PEOPLE);
    people - active + rng.random_range(0..active + ID_LEAD)
}

/// An auction among the most recent [`IN_FLIGHT_AUCTIONS`], or up to [`ID_LEAD`] ahead.
fn random_auction(n: u64, rng: &mut StdRng) -> u64 {
    let newest = last_auction(n);
    let oldest = newest.saturating_sub(IN_FLIGHT_AUCTIONS);
    oldest + rng.random_range(0..newest - oldest + 1 + ID_LEAD)
}

/// A price in cents, log-uniform between $1 and $1,000,000.
fn price(rng: &mut StdRng) -> u64 {
    (10f64.powf(rng.random::<f64>() * 6.0) * 100.0).round() as u64
}

/// Lowercase letters, sometimes `special`, between 3 and `max - 1` long before trimming.
fn text(rng: &mut StdRng, max: usize, special: char) -> String {
    let len = 3 + rng.random_range(0..max - 3);
    let s: String = (0..len)
        .map(|_| {
            if rng.random_range(0..13) == 0 {
                special
            } else {
                char::from(b'a' + rng.random_range(0..26u8))
            }
        })
        .collect();
    s.trim().to_string()
}

/// Padding that brings a record of `size` bytes to about `avg` (±20% of the gap).
fn extra(rng: &mut StdRng, size: usize, avg: usize) -> String {
    if size > avg {
        return String::new();
    }
    let gap = avg - size;
    let delta = (gap as f64 * 0.2).round() as usize;
    let len = gap - delta
        + if delta == 0 {
            0
        } else {
            rng.random_range(0..2 * delta)
        };
    (0..len)
        .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
        .collect()
}

/// The URL of hot channel `k` (`hot`) or of `channel-<k>`: fixed for a seed.
fn channel_url(seed: u64, k: u32, hot: bool) -> String {
    let mut rng = StdRng::seed_from_u64(mix(
        seed ^ 0x005E_ED0F_C4A7,
        u64::from(k) + u64::from(hot) * (1 << 40),
    ));
    let mut url = format!(
        "https://www.nexmark.com/{}/{}/{}/item.htm?query=1",
        text(&mut rng, 5, '_'),
        text(&mut rng, 5, '_'),
        text(&mut rng, 5, '_')
    );
    if !hot && rng.random_range(0..10) > 0 {
        url.push_str(&format!(
            "&channel_id={}",
            (k as i32).reverse_bits().unsigned_abs()
        ));
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_and_ids_follow_the_model() {
        let g = Nexmark::default();
        let events: Vec<Event> = (0..5000).map(|n| g.event(n)).collect();
        let persons = events
            .iter()
            .filter(|e| matches!(e, Event::Person(_)))
            .count();
        let auctions = events
            .iter()
            .filter(|e| matches!(e, Event::Auction(_)))
            .count();
        assert_eq!(
            (persons, auctions, 5000 - persons - auctions),
            (100, 300, 4600)
        );
        // Persons and auctions are numbered in order from 1000.
        let ids: Vec<u64> = events
            .iter()
            .filter_map(|e| match e {
                Event::Auction(a) => Some(a.id),
                _ => None,
            })
            .collect();
        assert_eq!(ids, (1000..1300).collect::<Vec<_>>());
        for e in &events {
            match e {
                Event::Bid(b) => {
                    assert!(b.auction >= 1000 && b.auction < 1300 + ID_LEAD);
                    assert!(b.bidder >= 1000 && b.bidder < 1100 + ID_LEAD);
                    assert!((100..=100_000_000).contains(&b.price));
                }
                Event::Auction(a) => {
                    assert!((10..15).contains(&a.category));
                    assert!(a.expires > a.date_time && a.reserve > a.initial_bid);
                }
                Event::Person(p) => assert_eq!(p.credit_card.len(), 19),
            }
        }
        // Half the bids are on the hot auction of their block.
        let hot = events
            .iter()
            .filter(|e| matches!(e, Event::Bid(b) if (b.auction - 1000) % HOT_BLOCK == 0))
            .count();
        assert!((2000..2700).contains(&hot), "{hot} bids on hot auctions");
    }

    #[test]
    fn events_are_a_function_of_seed_and_number() {
        let g = Nexmark::default();
        assert_eq!(g.event(12_345), g.event(12_345));
        let other = Nexmark { seed: 7, ..g };
        assert_ne!(g.event(12_345), other.event(12_345));
        // Event time: 10 events a millisecond at 10,000 a second.
        assert_eq!(g.time_of(0), BASE_TIME_MS);
        assert_eq!(g.time_of(9), BASE_TIME_MS);
        assert_eq!(g.time_of(10), BASE_TIME_MS + 1);
        assert_eq!(g.event(60).date_time(), BASE_TIME_MS + 6);
    }

    #[test]
    fn json_is_what_the_flink_table_reads() {
        let g = Nexmark::default();
        let person = g.event(0).to_json();
        assert!(person.starts_with(r#"{"event_type":0,"person":{"id":1000,"name":""#));
        assert!(person.contains(r#""dateTime":"2015-07-15 00:00:00.000""#));
        assert!(person.ends_with(r#","auction":null,"bid":null}"#));
        let bid: serde_json::Value = serde_json::from_str(&g.event(4).to_json()).unwrap();
        assert_eq!(bid["event_type"], 2);
        for field in [
            "auction", "bidder", "price", "channel", "url", "dateTime", "extra",
        ] {
            assert!(!bid["bid"][field].is_null(), "{field}");
        }
        // Records are padded to about their average size.
        let sizes: Vec<usize> = (0..500)
            .filter_map(|n| match g.event(n) {
                Event::Bid(b) => Some(serde_json::to_string(&b).unwrap().len()),
                _ => None,
            })
            .collect();
        let mean = sizes.iter().sum::<usize>() / sizes.len();
        assert!((150..400).contains(&mean), "mean bid {mean} bytes");
    }
}
