//! `calstore answer`: the user's answer to a queued request (`calstore::agent::answer`): records
//! the PARTSTAT, updates the tables, prints the decision and writes the REPLY to send.

use anyhow::{Context, Result};
use calstore::agent::{self, Answer};
use calstore::{ErrorKind, Rid, Uid};

use crate::args::{AnswerArgs, Global};
use crate::backend;

pub async fn run(global: &Global, args: &AnswerArgs) -> Result<u8> {
    let user = super::parse_user(&args.user)?;
    let uid = Uid::new(args.uid.as_str()).with_context(|| format!("--uid {:?}", args.uid))?;
    let rid = args
        .rid
        .as_deref()
        .map(|r| Rid::new(r).with_context(|| format!("--rid {r:?}")))
        .transpose()?;
    let answer: Answer = args.answer.parse()?;
    let store = backend::open_store(global).await?;
    let mut tries = 0;
    let decision = loop {
        match agent::answer(&store, &user, &uid, rid.as_ref(), answer).await {
            Err(e) if e.kind() == ErrorKind::Stale && tries < super::deliver::STALE_RETRIES => {
                tries += 1
            }
            other => break other?,
        }
    };
    super::deliver::finish(&decision, args.format, args.reply.as_deref())
}
