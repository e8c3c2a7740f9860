//! Ownership by team, on every backend: a row whose owner column names a team is in the
//! scope of each of its members (tokens `tok-tara` and `tok-uma`, both in "north") and of
//! nobody else, through pulls (with its related children), the REST API and pushes; a
//! member may write rows owned by any of their teams and by no other; a JWT's `teams`
//! claim does what a development token's teams do, and one that is not a list of strings
//! is refused.

mod common;

use common::*;
use serde_json::{json, Value};

const TARA: &str = "tok-tara";
const UMA: &str = "tok-uma";

/// An account owned by the team "north" with one work order, written by tara.
async fn north_account(ctx: &Ctx) {
    let r = ctx
        .post(
            TARA,
            "/api/data/accounts",
            json!({ "id": "n-acc", "ownerId": "north", "name": "North depot" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = ctx
        .post(
            TARA,
            "/api/data/workorders",
            json!({ "id": "n-wo", "accountId": "n-acc", "status": "open", "modifiedOn": NOW }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn team_rows_reach_every_member_and_nobody_else() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        north_account(&ctx).await;

        for token in [TARA, UMA] {
            let replica = Replica::synced(&ctx, token, &unique(token)).await;
            assert!(
                replica.row("accounts", "n-acc").is_some(),
                "{token}: the team's account"
            );
            assert!(
                replica.row("workorders", "n-wo").is_some(),
                "{token}: its work order"
            );
            let list = ctx
                .get(token, "/api/data/accounts?$filter=ownerId%20eq%20'north'")
                .await;
            assert_eq!(list.ids(), [json!("n-acc")], "{token}");
            assert_eq!(
                ctx.get(token, "/api/data/workorders/'n-wo'").await.status,
                200
            );
        }
        for token in [ALICE, BOB] {
            let replica = Replica::synced(&ctx, token, &unique(token)).await;
            assert!(
                replica.row("accounts", "n-acc").is_none(),
                "{token} is not in north"
            );
            assert!(replica.row("workorders", "n-wo").is_none(), "{token}");
            let list = ctx
                .get(token, "/api/data/accounts?$filter=ownerId%20eq%20'north'")
                .await;
            assert_eq!(list.ids(), Vec::<Value>::new(), "{token}");
            let got = ctx.get(token, "/api/data/accounts/'n-acc'").await;
            got.assert_error(404, "not_found");
        }
    })
    .await;
}

#[tokio::test]
async fn a_member_writes_rows_of_their_teams_and_of_no_other() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        north_account(&ctx).await;
        // uma, also in north, edits the team's account; the edit reaches tara.
        let r = ctx
            .patch(
                UMA,
                "/api/data/accounts/'n-acc'",
                json!({ "name": "North depot (moved)" }),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let seen = ctx.get(TARA, "/api/data/accounts/'n-acc'").await;
        assert_eq!(seen.body["name"], "North depot (moved)");
        // uma's other team, east, is hers to write; tara is not in it.
        let r = ctx
            .post(
                UMA,
                "/api/data/accounts",
                json!({ "id": "e-acc", "ownerId": "east" }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        ctx.get(TARA, "/api/data/accounts/'e-acc'")
            .await
            .assert_error(404, "not_found");

        // Writes into a team the writer is not in are refused, through REST and push,
        // and change nothing.
        let before = ctx.snapshot().await;
        let r = ctx
            .post(
                TARA,
                "/api/data/accounts",
                json!({ "id": "s-acc", "ownerId": "south" }),
            )
            .await;
        r.assert_error(403, "forbidden");
        let r = ctx
            .patch(
                BOB,
                "/api/data/accounts/'n-acc'",
                json!({ "name": "taken" }),
            )
            .await;
        assert_eq!(r.status, 404, "bob cannot even see it: {}", r.text);
        let outcome = ctx
            .push_one(TARA, &unique("tara"), insert_account(1, "s-acc2", "south"))
            .await;
        assert_eq!(outcome["status"], "rejected", "{outcome}");
        ctx.assert_unchanged(&before, "writes outside the writer's teams")
            .await;

        // A member handing a row to a team they are not in loses it, as any move-out.
        let r = ctx
            .patch(
                UMA,
                "/api/data/accounts/'e-acc'",
                json!({ "ownerId": "south" }),
            )
            .await;
        r.assert_error(403, "forbidden");
    })
    .await;
}

#[tokio::test]
async fn a_jwt_teams_claim_is_read_and_must_be_a_list_of_strings() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        north_account(&ctx).await;
        let token = |teams: Value| {
            let claims = json!({ "sub": "vera", "exp": unix_secs() + 600, "teams": teams });
            signed(
                jsonwebtoken::Algorithm::HS256,
                claims,
                JWT_SECRET.as_bytes(),
            )
        };
        let member = token(json!(["north"]));
        let list = ctx
            .get(&member, "/api/data/accounts?$filter=ownerId%20eq%20'north'")
            .await;
        assert_eq!(list.ids(), [json!("n-acc")]);
        let outsider = token(json!(["south"]));
        let list = ctx
            .get(
                &outsider,
                "/api/data/accounts?$filter=ownerId%20eq%20'north'",
            )
            .await;
        assert_eq!(list.ids(), Vec::<Value>::new());
        for bad in [
            json!("north"),
            json!([1]),
            json!([null]),
            json!({ "north": true }),
        ] {
            let r = ctx.get(&token(bad.clone()), "/api/data/accounts").await;
            r.assert_error(401, "unauthorized");
        }
    })
    .await;
}

#[tokio::test]
async fn the_teams_claim_can_be_another_claim_and_tokens_files_name_teams() {
    use offline_tables_server::auth::{parse_tokens, Auth};
    let auth = Auth {
        jwt: Some(jsonwebtoken::DecodingKey::from_secret(
            JWT_SECRET.as_bytes(),
        )),
        teams_claim: Some("groups".into()),
        ..Auth::default()
    };
    let claims = json!({ "sub": "vera", "exp": unix_secs() + 600,
                         "groups": ["north", "east"], "teams": ["ignored"] });
    let token = signed(
        jsonwebtoken::Algorithm::HS256,
        claims,
        JWT_SECRET.as_bytes(),
    );
    let caller = auth.user_of(&token).await.expect("a valid token");
    assert_eq!(
        caller,
        Caller {
            id: "vera".into(),
            teams: vec!["north".into(), "east".into()]
        }
    );

    let tokens = parse_tokens(json!({
        "t1": "alice",
        "t2": { "user": "noor", "teams": ["north"] },
        "t3": { "user": "olaf" },
    }))
    .unwrap();
    assert_eq!(tokens["t1"], Caller::user("alice"));
    assert_eq!(tokens["t2"].teams, ["north"]);
    assert_eq!(tokens["t3"], Caller::user("olaf"));
    for bad in [
        json!({ "t": 1 }),
        json!({ "t": { "teams": ["x"] } }),
        json!({ "t": { "user": "u", "teams": "x" } }),
    ] {
        assert!(parse_tokens(bad.clone()).is_err(), "{bad}");
    }
}
