use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use tickerpulse::functions::{Handler, FUNCTIONS};
use tickerpulse_local::stack as local;
use tickerpulse_local::template::{find_template, Template};

/// TickerPulse developer CLI: the local AWS stack, in-process invocation of the
/// Lambda handlers, the pipeline, the API server, sentiment scoring and the demo.
#[derive(Parser)]
#[command(name = "tickerpulse", version, about)]
struct Cli {
    /// The SAM template (default: template.yaml of this checkout).
    #[arg(long, global = true)]
    template: Option<PathBuf>,
    /// Template parameters for the local stack, as `sam deploy
    /// --parameter-overrides` takes them: `Name=Value` pairs separated by
    /// spaces, e.g. `SentimentMode=model`.
    #[arg(long, global = true, env = "TICKERPULSE_PARAMETER_OVERRIDES")]
    parameter_overrides: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The local AWS stack (moto server and the TickerPulse proxy).
    Local {
        #[command(subcommand)]
        action: LocalAction,
    },
    /// Starts the local stack in this process, runs the 5,000 real tweets of
    /// taborda-2020 end to end (fake X API, ingest, Firehose, transform, the pipeline,
    /// DynamoDB), prints what happened, and serves the dashboard and the API until Ctrl-C.
    Demo {
        /// Port of the local AWS endpoint; 0 picks a free one.
        #[arg(long, default_value_t = local::DEFAULT_PORT)]
        port: u16,
        /// Port of the dashboard and the API on 127.0.0.1.
        #[arg(long, default_value_t = 8080)]
        api_port: u16,
        /// Require this key in `x-api-key` where the deployed API does.
        #[arg(long, env = "TICKERPULSE_API_KEY")]
        api_key: Option<String>,
        /// Run N generated tweets (a few hundred tickers, 120 days, 10% spam)
        /// instead of the 5,000 real ones; prints each stage's time and throughput.
        #[arg(long, value_name = "N")]
        synthetic: Option<u64>,
        /// Stop after the run instead of serving until Ctrl-C.
        #[arg(long)]
        no_wait: bool,
    },
    /// The Step Functions pipeline: run, list executions, show one.
    Pipeline {
        #[command(subcommand)]
        action: PipelineAction,
        /// A deployed stack (the shell's AWS credentials and region) instead of the
        /// local one; the state machine is --state-machine-arn or
        /// $TICKERPULSE_STATE_MACHINE_ARN (the stack output StateMachineArn).
        #[arg(long, global = true)]
        aws: bool,
        #[arg(long, global = true, env = "TICKERPULSE_STATE_MACHINE_ARN")]
        state_machine_arn: Option<String>,
    },
    /// Serves the REST API and the dashboard on loopback: HTTP requests become API
    /// Gateway proxy events for the api function's handler (like `sam local start-api`).
    Serve {
        /// Port on 127.0.0.1; 0 picks a free one.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Require this key in `x-api-key` where the deployed API does.
        #[arg(long, env = "TICKERPULSE_API_KEY")]
        api_key: Option<String>,
        /// Read the tables of a deployed stack (the shell's AWS credentials and the
        /// function's variables set in the shell) instead of the local stack.
        #[arg(long)]
        aws: bool,
    },
    /// Checks a stack end to end after deploying: its outputs, the X secret, three
    /// canned tweets through Firehose to the raw zone, a pipeline run over their
    /// hour, and the API returning them. Prints PASS or FAIL per step with what
    /// to do; exits 1 if any failed. Without --aws, on a local stack started for it.
    Smoke {
        /// The deployed stack (the shell's AWS credentials and region).
        #[arg(long)]
        aws: bool,
        #[arg(long, default_value = "tickerpulse")]
        stack_name: String,
        /// The API key (`aws apigateway get-api-key --api-key <ApiKeyId> --include-value`).
        #[arg(long, env = "TICKERPULSE_API_KEY")]
        api_key: Option<String>,
        /// A user of the stack's pool to query the API as (the data routes need one).
        #[arg(long, env = "TICKERPULSE_USER")]
        username: Option<String>,
        #[arg(long, env = "TICKERPULSE_PASSWORD", requires = "username")]
        password: Option<String>,
        /// The user's TOTP key (base32, as enrolled); a user without a device
        /// enrols one at this sign-in and the key is printed.
        #[arg(long, env = "TICKERPULSE_TOTP_SECRET")]
        totp_secret: Option<String>,
        /// Seconds to wait for the tweets in the raw zone (Firehose buffers 60 s).
        #[arg(long, default_value_t = 300)]
        wait: u64,
    },
    /// Signs a user in as the dashboard does (SRP, then the TOTP code) and
    /// prints their ID token, for `Authorization:` in curl. The pool is the
    /// running local stack's unless --user-pool-id and --client-id name one
    /// (the stack outputs UserPoolId and DashboardClientId).
    Token {
        #[arg(long, env = "TICKERPULSE_USER")]
        username: String,
        #[arg(long, env = "TICKERPULSE_PASSWORD")]
        password: String,
        /// The user's TOTP key (base32); a user without a device enrols one
        /// now and its key goes to stderr.
        #[arg(long, env = "TICKERPULSE_TOTP_SECRET")]
        totp_secret: Option<String>,
        #[arg(long, requires = "client_id")]
        user_pool_id: Option<String>,
        #[arg(long, requires = "user_pool_id")]
        client_id: Option<String>,
    },
    /// Removes posts from every copy (deleted or made private by their
    /// authors, or asked to be forgotten): the raw zone and its older
    /// versions, then a pipeline run rebuilds stage, the summaries and the
    /// analytics zone without them, then the derived files' older versions
    /// and the recent-posts items go (docs/privacy.md). Prints a JSON report.
    Forget {
        /// A post id (repeatable).
        #[arg(long = "post", value_name = "ID")]
        posts: Vec<String>,
        /// An author, by id or user name: every post of theirs (repeatable).
        #[arg(long = "author", value_name = "ID_OR_NAME")]
        authors: Vec<String>,
        /// A deployed stack: the shell's AWS credentials, the buckets and tables
        /// in RAW_BUCKET, STAGE_BUCKET, ANALYTICS_BUCKET, RECENT_TWEETS_TABLE and
        /// STATE_TABLE, the state machine in TICKERPULSE_STATE_MACHINE_ARN.
        #[arg(long)]
        aws: bool,
        #[arg(long, env = "TICKERPULSE_STATE_MACHINE_ARN")]
        state_machine_arn: Option<String>,
        /// Seconds to wait for the pipeline run.
        #[arg(long, default_value_t = 900)]
        timeout: u64,
    },
    /// Asks X's batch compliance API about the X posts stored in the last days
    /// and forgets those X reports deleted, made private, suspended or
    /// deactivated (docs/privacy.md). Prints a JSON report.
    Comply {
        /// Days of stored posts to check.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// A deployed stack (as `forget --aws`), with the X token in
        /// X_BEARER_TOKEN.
        #[arg(long)]
        aws: bool,
        #[arg(long, env = "TICKERPULSE_STATE_MACHINE_ARN")]
        state_machine_arn: Option<String>,
        /// Seconds between polls of the job.
        #[arg(long, default_value_t = 30)]
        poll: u64,
        /// Seconds to wait for the pipeline run.
        #[arg(long, default_value_t = 900)]
        timeout: u64,
    },
    /// Prints the current code of a TOTP key, as an authenticator app shows it.
    Code { secret: String },
    /// Scores one text per line from stdin with VADER; writes one JSON object per line.
    Score {
        /// `vader` (exactly vaderSentiment 3.3.2), `finance` (with market slang) or `model`
        /// (the trained classifier: adds the class probabilities, see docs/sentiment.md).
        #[arg(long, default_value = "vader")]
        mode: String,
    },
    /// Runs a function's handler in-process with an event file and prints its JSON response.
    Invoke {
        /// One of: ingest, transform, plan, compact, clean, aggregate, api, track.
        function: String,
        /// The event, as JSON (see events/).
        #[arg(long, short)]
        event: PathBuf,
        /// Use the AWS environment of this shell (real AWS) instead of the local stack;
        /// the function's variables (RAW_BUCKET, ...) must then be set in the shell.
        #[arg(long)]
        aws: bool,
    },
}

#[derive(Subcommand)]
enum PipelineAction {
    /// Starts an execution and follows it state by state until it ends.
    Run {
        /// Reprocess a range (RFC 3339) instead of what changed.
        #[arg(long, requires = "to")]
        from: Option<String>,
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Execution name (default: cli-<unix time>).
        #[arg(long)]
        name: Option<String>,
        /// Give up following after this many seconds.
        #[arg(long, default_value_t = 900)]
        timeout: u64,
    },
    /// Lists recent executions: status, start, duration, partitions, rows.
    Executions {
        #[arg(long, default_value_t = 20)]
        limit: i32,
    },
    /// Shows an execution's event history (name or ARN).
    Show { execution: String },
}

#[derive(Subcommand)]
enum LocalAction {
    /// Starts the emulator and creates every resource of template.yaml.
    Up {
        /// Port of the local AWS endpoint; 0 picks a free one.
        #[arg(long, default_value_t = local::DEFAULT_PORT)]
        port: u16,
        /// Also run the template's schedules (ingest every 5 minutes, social and the
        /// pipeline every 15), invoking functions asynchronously as Lambda does,
        /// retries included.
        #[arg(long)]
        schedules: bool,
    },
    /// Stops the emulator and the proxy started by `local up`.
    Down,
    /// Says whether the local stack runs, where, and what it holds.
    Status,
    /// Invites a user to the local user pool (as `aws cognito-idp
    /// admin-create-user` does on AWS) with a permanent password.
    AddUser {
        username: String,
        /// At least 12 characters, with upper and lower case letters and a digit.
        #[arg(long, env = "TICKERPULSE_PASSWORD")]
        password: String,
        /// Adds the user to the editors group (alert rules, every write).
        #[arg(long)]
        editor: bool,
    },
    /// Prints the functions' environment (KEY=VALUE), as the template sets it and
    /// pointed at the running local stack: for `cargo lambda watch --env-file`.
    Env,
    /// Runs the proxy in the foreground (what `local up` starts in the background).
    #[command(hide = true)]
    Proxy {
        #[arg(long)]
        port: u16,
        #[arg(long)]
        moto_port: u16,
    },
}

fn init_logs(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// The handlers' environment and the stores and state machine a forget
/// reaches: a deployed stack's (`--aws`: the shell's environment) or the
/// running local stack's.
async fn stack_copies(
    template: &Option<PathBuf>,
    overrides: &Option<String>,
    aws: bool,
    state_machine_arn: Option<String>,
) -> Result<(
    std::collections::BTreeMap<String, String>,
    tickerpulse::forget::Copies,
)> {
    if aws {
        let machine = state_machine_arn.context(
            "--aws needs TICKERPULSE_STATE_MACHINE_ARN (the stack output StateMachineArn)",
        )?;
        let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
        let copies = tickerpulse::forget::Copies::from_env(&env, machine).await?;
        return Ok((env, copies));
    }
    let template = load_template(template, overrides)?;
    let running = local::running(&local::state_dir(&template))?
        .context("the local stack is not running (`tickerpulse local up`, or --aws)")?;
    let machine = template
        .state_machines()?
        .into_iter()
        .next()
        .context("the template has no state machine")?
        .arn;
    let env = local::handler_env(&template, Some(running.port))?;
    let copies = tickerpulse::forget::Copies::from_env(&env, machine).await?;
    Ok((env, copies))
}

fn load_template(cli_path: &Option<PathBuf>, overrides: &Option<String>) -> Result<Template> {
    let path = match cli_path {
        Some(p) => p.clone(),
        None => find_template()?,
    };
    let mut template = Template::load(&path)?;
    if let Some(pairs) = overrides {
        template.override_parameters(pairs)?;
    }
    Ok(template)
}

async fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Local { action } => {
            let template = load_template(&cli.template, &cli.parameter_overrides)?;
            match action {
                LocalAction::Up { port, schedules } => {
                    init_logs("warn");
                    if schedules {
                        // Read by the proxy process `up` starts (it inherits the environment).
                        std::env::set_var("TICKERPULSE_SCHEDULES", "on");
                    }
                    let exe = std::env::current_exe().context("locating the tickerpulse binary")?;
                    let (file, created, restart) = local::up(&template, port, &exe).await?;
                    match restart {
                        local::Restart::Fresh => {}
                        local::Restart::Proxy => println!(
                            "the proxy had stopped: started it again; moto and everything in it were kept"
                        ),
                        local::Restart::Moto => println!(
                            "moto had stopped, and moto keeps the stack only in memory: started it again \
                             and created the resources again, EMPTY (no tweets, tables or runs); the proxy was kept"
                        ),
                    }
                    println!(
                        "local stack up at {} (moto pid {}, proxy pid {})",
                        file.endpoint(),
                        file.moto_pid,
                        file.proxy_pid
                    );
                    for c in created {
                        println!("  created {c}");
                    }
                    println!("use it with: export AWS_ENDPOINT_URL={} AWS_REGION={} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing", file.endpoint(), template.region());
                }
                LocalAction::Down => {
                    if local::down(&template).await? {
                        println!("local stack stopped");
                    } else {
                        println!("no local stack was running");
                    }
                }
                LocalAction::AddUser {
                    username,
                    password,
                    editor,
                } => {
                    init_logs("warn");
                    let running = local::running(&local::state_dir(&template))?
                        .context("the local stack is not running (`tickerpulse local up`)")?;
                    let env = local::handler_env(&template, Some(running.port))?;
                    let ids = tickerpulse_local::cognito::lookup(&template, &env)
                        .await?
                        .context("the template has no user pool")?;
                    let groups: &[&str] = if editor { &["editors"] } else { &[] };
                    tickerpulse_local::cognito::invite(&env, &ids, &username, &password, groups)
                        .await?;
                    println!(
                        "{username} can sign in to the dashboard (the first sign-in enrols an \
                         authenticator app)"
                    );
                }
                LocalAction::Env => {
                    let running = local::running(&local::state_dir(&template))?;
                    let mut env = local::handler_env(&template, running.as_ref().map(|f| f.port))?;
                    if let Some(f) = &running {
                        // The ids moto gave the user pool, in place of the template's names.
                        if let Some(ids) =
                            tickerpulse_local::cognito::lookup(&template, &env).await?
                        {
                            env.extend(tickerpulse_local::cognito::env_of(&ids, &f.endpoint()));
                        }
                    }
                    for (k, v) in env {
                        println!("{k}={v}");
                    }
                }
                LocalAction::Status => match local::running(&local::state_dir(&template))? {
                    Some(f) => {
                        println!(
                            "running at {} (moto pid {} on port {}, proxy pid {})",
                            f.endpoint(),
                            f.moto_pid,
                            f.moto_port,
                            f.proxy_pid
                        );
                        for b in template.buckets()? {
                            println!("  bucket          {}", b.name);
                        }
                        for t in template.tables()? {
                            println!("  table           {}", t.name);
                        }
                        for d in template.delivery_streams()? {
                            println!("  delivery stream {}", d.name);
                        }
                        for m in template.state_machines()? {
                            println!("  state machine   {}", m.name);
                        }
                    }
                    None => {
                        println!("not running (`tickerpulse local up` starts it)");
                        return Ok(3);
                    }
                },
                LocalAction::Proxy { port, moto_port } => {
                    init_logs("info");
                    let listener = local::bind_loopback(port)?;
                    listener.set_nonblocking(true)?;
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    let state = local::proxy_state(
                        &template,
                        port,
                        moto_port,
                        &tickerpulse::functions::invoker(),
                    )
                    .await?;
                    tracing::info!(port, moto_port, "proxy listening");
                    if std::env::var("TICKERPULSE_SCHEDULES").as_deref() == Ok("on") {
                        let env = local::handler_env(&template, Some(port))?;
                        let tasks = local::run_schedules(state.clone(), &template, env)?;
                        tracing::info!(schedules = tasks.len(), "schedules running");
                    }
                    let mut term =
                        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
                    tickerpulse_local::proxy::serve(listener, state, async move {
                        tokio::select! {
                            _ = term.recv() => {},
                            _ = tokio::signal::ctrl_c() => {},
                        }
                    })
                    .await;
                }
            }
            Ok(0)
        }
        Command::Demo {
            port,
            api_port,
            api_key,
            synthetic,
            no_wait,
        } => {
            init_logs("error");
            let template = load_template(&cli.template, &cli.parameter_overrides)?;
            tickerpulse::demo::run(template, port, api_port, api_key, synthetic, no_wait).await?;
            Ok(0)
        }
        Command::Pipeline {
            action,
            aws,
            state_machine_arn,
        } => {
            init_logs("warn");
            let (conf, machine) = if aws {
                let machine = state_machine_arn.context(
                    "--aws needs --state-machine-arn or TICKERPULSE_STATE_MACHINE_ARN (the stack output StateMachineArn)",
                )?;
                let conf = tickerpulse_aws::sdk::load(&tickerpulse_core::config::ProcessEnv).await;
                (conf, machine)
            } else {
                let template = load_template(&cli.template, &cli.parameter_overrides)?;
                let running = local::running(&local::state_dir(&template))?
                    .context("the local stack is not running (`tickerpulse local up`, or --aws for a deployed stack)")?;
                let env = local::handler_env(&template, Some(running.port))?;
                let machine = match state_machine_arn {
                    Some(m) => m,
                    None => {
                        template
                            .state_machines()?
                            .into_iter()
                            .next()
                            .context("the template has no state machine")?
                            .arn
                    }
                };
                (tickerpulse_aws::sdk::load(&env).await, machine)
            };
            let sfn = aws_sdk_sfn::Client::new(&conf);
            match action {
                PipelineAction::Run {
                    from,
                    to,
                    name,
                    timeout,
                } => {
                    let input = match (from, to) {
                        (Some(from), Some(to)) => serde_json::json!({"from": from, "to": to}),
                        _ => serde_json::json!({}),
                    };
                    let name = name.unwrap_or_else(|| {
                        format!("cli-{}", time::OffsetDateTime::now_utc().unix_timestamp())
                    });
                    let status = tickerpulse::pipeline::run(
                        &sfn,
                        &machine,
                        &name,
                        &input,
                        std::time::Duration::from_secs(timeout),
                    )
                    .await?;
                    Ok(i32::from(
                        status != aws_sdk_sfn::types::ExecutionStatus::Succeeded,
                    ))
                }
                PipelineAction::Executions { limit } => {
                    let rows = tickerpulse::pipeline::executions(&sfn, &machine, limit).await?;
                    tickerpulse::pipeline::print_executions(&rows);
                    Ok(0)
                }
                PipelineAction::Show { execution } => {
                    tickerpulse::pipeline::show(&sfn, &machine, &execution).await?;
                    Ok(0)
                }
            }
        }
        Command::Serve { port, api_key, aws } => {
            init_logs("warn");
            let (function, authorizer, keys) = if aws {
                // The deployed API's gateway checks the users; here nobody does.
                let f =
                    tickerpulse_fn_api::Function::from_env(&tickerpulse_core::config::ProcessEnv)
                        .await;
                (f, None, None)
            } else {
                let template = load_template(&cli.template, &cli.parameter_overrides)?;
                let running = local::running(&local::state_dir(&template))?
                    .context("the local stack is not running (`tickerpulse local up`, or --aws)")?;
                let mut env = local::handler_env(&template, Some(running.port))?;
                let authorizer = tickerpulse_local::cognito::attach(
                    &template,
                    &mut env,
                    &running.endpoint(),
                    &format!("http://127.0.0.1:{}", running.moto_port),
                )
                .await?;
                // The function itself runs as its role, with the pool moto made.
                let mut api_env = local::function_env(&template, "api", Some(running.port))?;
                for k in ["USER_POOL_ID", "USER_POOL_CLIENT_ID", "COGNITO_URL"] {
                    if let Some(v) = env.get(k) {
                        api_env.insert(k.into(), v.clone());
                    }
                }
                // Users' own keys: the plans moto holds, for the gateway's key check.
                let plans = tickerpulse_local::keys::lookup(&template, &env).await?;
                let keys = tickerpulse_local::keys::KeyCheck::new(&env, plans).await;
                (
                    tickerpulse_fn_api::Function::from_env(&api_env).await,
                    authorizer,
                    Some(keys),
                )
            };
            let function = function.map_err(|e| anyhow::anyhow!("api: {e}"))?;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .with_context(|| format!("listening on 127.0.0.1:{port}"))?;
            let addr = listener.local_addr()?;
            println!("dashboard: http://{addr}/v1/");
            println!("API:       http://{addr}/v1/ (try http://{addr}/v1/leaderboard)");
            if api_key.is_some() {
                println!("           the API key is required in x-api-key, as deployed");
            }
            if authorizer.is_some() {
                println!(
                    "           sign in as a user of the local pool (tickerpulse local add-user)"
                );
            }
            let server = tickerpulse::serve::ApiServer::guarded(function, api_key, authorizer);
            if let Some(keys) = keys {
                server.check_keys(keys);
            }
            // The usage plans' throttle, as deployed.
            if let Some((rate, burst)) =
                load_template(&cli.template, &cli.parameter_overrides)?.api_throttle()?
            {
                server.throttle(rate, burst);
            }
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tickerpulse::serve::serve(listener, server, async move {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = tokio::signal::ctrl_c() => {},
                }
            })
            .await;
            Ok(0)
        }
        Command::Smoke {
            aws,
            stack_name,
            api_key,
            username,
            password,
            totp_secret,
            wait,
        } => {
            init_logs("error");
            let ok = if aws {
                let user = username.zip(password);
                tickerpulse::smoke::aws(&stack_name, api_key, user, totp_secret, wait).await?
            } else {
                tickerpulse::smoke::local(load_template(&cli.template, &cli.parameter_overrides)?)
                    .await?
            };
            println!(
                "{}",
                if ok {
                    "smoke: all steps passed"
                } else {
                    "smoke: FAILED"
                }
            );
            Ok(if ok { 0 } else { 1 })
        }
        Command::Token {
            username,
            password,
            totp_secret,
            user_pool_id,
            client_id,
        } => {
            init_logs("error");
            let (env, ids) = match user_pool_id.zip(client_id) {
                Some((pool_id, client_id)) => (
                    std::env::vars().collect(),
                    tickerpulse_local::cognito::UserPoolIds { pool_id, client_id },
                ),
                None => {
                    let template = load_template(&cli.template, &cli.parameter_overrides)?;
                    let running = local::running(&local::state_dir(&template))?
                        .context("no --user-pool-id, and no local stack running")?;
                    let env = local::handler_env(&template, Some(running.port))?;
                    let ids = tickerpulse_local::cognito::lookup(&template, &env)
                        .await?
                        .context("the template has no user pool")?;
                    (env, ids)
                }
            };
            let tokens = tickerpulse_local::cognito::sign_in(
                &env,
                &ids,
                &username,
                &password,
                totp_secret.as_deref(),
            )
            .await?;
            if totp_secret.is_none() {
                if let Some(secret) = &tokens.totp_secret {
                    eprintln!("{username} enrolled a TOTP device; its key: {secret}");
                }
            }
            println!("{}", tokens.id_token);
            Ok(0)
        }
        Command::Forget {
            posts,
            authors,
            aws,
            state_machine_arn,
            timeout,
        } => {
            init_logs("warn");
            let (_, copies) = stack_copies(
                &cli.template,
                &cli.parameter_overrides,
                aws,
                state_machine_arn,
            )
            .await?;
            let forget = tickerpulse_core::forget::Forget::new(posts, authors);
            let report =
                tickerpulse::forget::run(&copies, &forget, std::time::Duration::from_secs(timeout))
                    .await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(0)
        }
        Command::Comply {
            days,
            aws,
            state_machine_arn,
            poll,
            timeout,
        } => {
            init_logs("warn");
            let (env, copies) = stack_copies(
                &cli.template,
                &cli.parameter_overrides,
                aws,
                state_machine_arn,
            )
            .await?;
            let token = match env.get("X_BEARER_TOKEN") {
                Some(t) if aws => t.clone(),
                _ if aws => anyhow::bail!("--aws needs the X bearer token in X_BEARER_TOKEN"),
                _ => tickerpulse_local::stack::LOCAL_X_TOKEN.to_string(),
            };
            let base = env
                .get("X_API_BASE_URL")
                .map_or("https://api.x.com", String::as_str);
            let x = tickerpulse_xapi::XApi::new(base, token)?;
            let report = tickerpulse::comply::run(
                &copies,
                &x,
                &tickerpulse_core::HourPartition::last_days(time::OffsetDateTime::now_utc(), days),
                tickerpulse::comply::Polling {
                    every: std::time::Duration::from_secs(poll),
                    // An hour of polls at least: X says a job takes "minutes to hours".
                    times: (3600 / poll.max(1)).max(10) as u32,
                },
                std::time::Duration::from_secs(timeout),
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(0)
        }
        Command::Code { secret } => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
            println!("{}", tickerpulse_local::srp::totp(&secret, now.as_secs())?);
            Ok(0)
        }
        Command::Score { mode } => {
            let mode: tickerpulse_vader::Mode = mode.parse()?;
            let stdin = std::io::stdin();
            let stdout = std::io::stdout();
            tickerpulse::score::score_lines(mode, stdin.lock(), stdout.lock())?;
            Ok(0)
        }
        Command::Invoke {
            function,
            event,
            aws,
        } => {
            init_logs("warn");
            if !FUNCTIONS.contains(&function.as_str()) {
                bail!(
                    "unknown function {function:?} (known: {})",
                    FUNCTIONS.join(", ")
                );
            }
            let text = std::fs::read_to_string(&event)
                .with_context(|| format!("reading event file {}", event.display()))?;
            let payload: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid JSON", event.display()))?;
            let handler = if aws {
                Handler::build(&function, &tickerpulse_core::config::ProcessEnv).await?
            } else {
                let template = load_template(&cli.template, &cli.parameter_overrides)?;
                let running = local::running(&local::state_dir(&template))?;
                if running.is_none() {
                    tracing::warn!("the local stack is not running: AWS calls of the handler will fail (`tickerpulse local up`)");
                }
                // As the function's role, as Lambda would run it.
                let env = local::function_env(&template, &function, running.map(|f| f.port))?;
                Handler::build(&function, &env).await?
            };
            match handler.invoke(payload).await {
                Ok(v) => {
                    println!("{}", serde_json::to_string_pretty(&v)?);
                    Ok(0)
                }
                Err(e) => {
                    println!(
                        "{}",
                        serde_json::json!({"errorType": e.error_type(), "errorMessage": e.to_string()})
                    );
                    Ok(1)
                }
            }
        }
    }
}

fn main() {
    // Output piped into `head` and the like: die quietly of SIGPIPE when the
    // reader goes, as Unix tools do, instead of panicking in println! (Rust
    // ignores SIGPIPE by default, so a closed pipe is an error every print
    // would have to handle).
    #[cfg(unix)]
    // SAFETY: called first, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}
