//! Health, lag caching, back-off and shuffling, without a server.
use super::*;

#[test]
fn lag_seconds_become_durations() {
    assert_eq!(lag_of(1.5), Duration::from_millis(1500));
    assert_eq!(lag_of(-2.0), Duration::ZERO);
    assert_eq!(lag_of(f64::INFINITY), Duration::MAX);
    assert_eq!(lag_of(f64::NAN), Duration::MAX);
}

fn replica() -> Server {
    let conninfo = "host=127.0.0.1 port=1 dbname=x user=u sslmode=disable";
    Server::build(ServerRole::Replica, conninfo, &PgOptions::default(), true)
        .expect("a pool without connecting")
}

#[test]
fn lag_is_measured_by_one_caller_and_cached_for_the_others() {
    let (s, every) = (replica(), Duration::from_millis(50));
    let bound = Duration::from_secs(1);
    // No result yet: every caller measures.
    assert_eq!(s.lag_check(every), LagCheck::Measure);
    assert_eq!(s.lag_check(every), LagCheck::Measure);
    assert!(!s.record_lag(Duration::from_secs(2), bound));
    assert_eq!(s.lag_check(every), LagCheck::Lagging);
    assert!(
        !s.may_serve(Instant::now(), every),
        "left out until due again"
    );
    std::thread::sleep(Duration::from_millis(60));
    assert!(
        s.may_serve(Instant::now(), every),
        "due to be measured again"
    );
    assert_eq!(s.lag_check(every), LagCheck::Measure, "one caller measures");
    assert_eq!(
        s.lag_check(every),
        LagCheck::Lagging,
        "the others go by the last result"
    );
    assert!(s.record_lag(Duration::ZERO, bound));
    assert_eq!(s.lag_check(every), LagCheck::Within);
    let st = s.status();
    assert!(st.within_lag && st.available && st.lag == Some(Duration::ZERO));
}

#[test]
fn failed_servers_are_left_out_with_a_doubling_back_off() {
    let s = replica();
    let retry = Duration::from_millis(40);
    let e = Error::new(calstore::ErrorKind::Unavailable, "refused");
    s.mark_down(&e, retry);
    assert!(!s.may_serve(Instant::now(), retry) && !s.status().available);
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        s.may_serve(Instant::now(), retry),
        "tried again after the back-off"
    );
    s.mark_down(&e, retry);
    s.mark_down(&e, retry);
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        !s.may_serve(Instant::now(), retry),
        "third failure: 4 × 40 ms"
    );
    s.mark_up();
    assert!(s.may_serve(Instant::now(), retry) && s.status().available);
}

#[test]
fn shuffling_spreads_every_position() {
    let mut first = [0usize; 3];
    for _ in 0..600 {
        let mut v = vec![0, 1, 2];
        shuffle(&mut v);
        let mut sorted = v.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![0, 1, 2]);
        first[v[0]] += 1;
    }
    assert!(first.iter().all(|n| *n > 100), "{first:?}");
}
