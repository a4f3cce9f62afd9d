//! The busy rule: how one event counts in its user's free/busy, as an RFC 5545 FBTYPE, from
//! the four things that decide it. One function, so that every caller says the same.

use crate::object::{PartStat, Status};
pub use crate::period::FbType;
use crate::period::Transp;

/// How an event counts for its user:
///
/// 1. STATUS:CANCELLED is free.
/// 2. The user's own PARTSTAT, when the user is an attendee: DECLINED and DELEGATED are free;
///    NEEDS-ACTION (an unanswered request, and any unknown value) is free unless `needs_action`
///    (imip-agent's rule: an invitation blocks nothing until answered), then BUSY-TENTATIVE.
///    `own` is `None` when the user organises the event or is not named in it.
/// 3. `X-MICROSOFT-CDO-BUSYSTATUS` (Outlook's own answer to "show as"), when present and
///    known, decides the base: FREE and WORKINGELSEWHERE free, TENTATIVE BUSY-TENTATIVE, BUSY
///    BUSY, OOF BUSY-UNAVAILABLE; otherwise TRANSP: TRANSPARENT free, OPAQUE BUSY.
/// 4. A busy base becomes BUSY-TENTATIVE when STATUS is TENTATIVE or the user answered
///    TENTATIVE (never more than tentative for an answer that is).
pub fn busy_type(
    transp: Transp,
    status: Option<&Status>,
    own: Option<&PartStat>,
    cdo_busy_status: Option<&str>,
    needs_action: bool,
) -> FbType {
    if status == Some(&Status::Cancelled) {
        return FbType::Free;
    }
    let mut tentative = status == Some(&Status::Tentative);
    match own {
        Some(PartStat::Declined | PartStat::Delegated) => return FbType::Free,
        Some(PartStat::NeedsAction | PartStat::Other(_)) => {
            if !needs_action {
                return FbType::Free;
            }
            tentative = true;
        }
        Some(PartStat::Tentative) => tentative = true,
        Some(PartStat::Accepted) | None => {}
    }
    let cdo = cdo_busy_status.map(|v| v.trim().to_ascii_uppercase());
    let base = match cdo.as_deref() {
        Some("FREE" | "WORKINGELSEWHERE") => FbType::Free,
        Some("TENTATIVE") => FbType::BusyTentative,
        Some("BUSY") => FbType::Busy,
        Some("OOF") => FbType::BusyUnavailable,
        _ => match transp {
            Transp::Transparent => FbType::Free,
            Transp::Opaque => FbType::Busy,
        },
    };
    if tentative && base > FbType::BusyTentative {
        FbType::BusyTentative
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every combination of the four inputs (and the needs-action setting) against the rule's
    /// statements, so that no combination is left to chance.
    #[test]
    fn every_combination_follows_the_rule() {
        let statuses = [
            None,
            Some(Status::Tentative),
            Some(Status::Confirmed),
            Some(Status::Cancelled),
            Some(Status::Other("X-ODD".into())),
        ];
        let answers = [
            None,
            Some(PartStat::NeedsAction),
            Some(PartStat::Accepted),
            Some(PartStat::Declined),
            Some(PartStat::Tentative),
            Some(PartStat::Delegated),
            Some(PartStat::Other("X-MAYBE".into())),
        ];
        let cdos = [
            None,
            Some("FREE"),
            Some("TENTATIVE"),
            Some("BUSY"),
            Some("OOF"),
            Some("WORKINGELSEWHERE"),
            Some("garbage"),
        ];
        let mut seen = 0;
        for transp in [Transp::Opaque, Transp::Transparent] {
            for status in &statuses {
                for own in &answers {
                    for cdo in cdos {
                        for needs_action in [false, true] {
                            seen += 1;
                            let got =
                                busy_type(transp, status.as_ref(), own.as_ref(), cdo, needs_action);
                            let cancelled = status == &Some(Status::Cancelled);
                            let refused =
                                matches!(own, Some(PartStat::Declined | PartStat::Delegated));
                            let unanswered =
                                matches!(own, Some(PartStat::NeedsAction | PartStat::Other(_)));
                            let tentative = status == &Some(Status::Tentative)
                                || own == &Some(PartStat::Tentative)
                                || unanswered;
                            let base = match cdo {
                                Some("FREE" | "WORKINGELSEWHERE") => FbType::Free,
                                Some("TENTATIVE") => FbType::BusyTentative,
                                Some("BUSY") => FbType::Busy,
                                Some("OOF") => FbType::BusyUnavailable,
                                _ if transp == Transp::Transparent => FbType::Free,
                                _ => FbType::Busy,
                            };
                            let want = if cancelled || refused || (unanswered && !needs_action) {
                                FbType::Free
                            } else if tentative {
                                base.min(FbType::BusyTentative)
                            } else {
                                base
                            };
                            assert_eq!(
                                got, want,
                                "{transp:?} {status:?} {own:?} {cdo:?} needs_action={needs_action}"
                            );
                        }
                    }
                }
            }
        }
        assert_eq!(seen, 2 * 5 * 7 * 7 * 2);
    }

    #[test]
    fn the_usual_cases() {
        let accepted = Some(&PartStat::Accepted);
        assert_eq!(
            busy_type(Transp::Opaque, None, accepted, None, false),
            FbType::Busy
        );
        assert_eq!(
            busy_type(
                Transp::Opaque,
                None,
                Some(&PartStat::Tentative),
                None,
                false
            ),
            FbType::BusyTentative
        );
        assert_eq!(
            busy_type(
                Transp::Opaque,
                None,
                Some(&PartStat::NeedsAction),
                None,
                false
            ),
            FbType::Free
        );
        assert_eq!(
            busy_type(Transp::Opaque, None, None, Some("OOF"), false),
            FbType::BusyUnavailable
        );
        assert_eq!(
            busy_type(Transp::Opaque, None, None, Some("free"), false),
            FbType::Free
        );
    }
}
