// The leadscore extension: the `score` language (package.json, the TextMate grammar) and a
// client for `leadscore lsp`. Plain CommonJS, no build step: `npm ci` installs the one
// dependency, vscode-languageclient.
"use strict";

const vscode = require("vscode");
const { LanguageClient, ExecuteCommandRequest } = require("vscode-languageclient/node");

let client;

function serverOptions() {
  const config = vscode.workspace.getConfiguration("leadscore");
  const [command, ...args] = config.get("server.command", ["leadscore", "lsp"]);
  const env = { ...process.env, ...config.get("server.env", {}) };
  return { command, args, options: { env } };
}

function clientOptions() {
  const config = vscode.workspace.getConfiguration("leadscore");
  return {
    documentSelector: [{ language: "score" }],
    initializationOptions: {
      lint: config.get("lint", true),
      ...(config.get("docsUrl") ? { docsUrl: config.get("docsUrl") } : {}),
    },
    // the server reads the `leadscore` section on workspace/didChangeConfiguration
    synchronize: { configurationSection: "leadscore" },
  };
}

async function start() {
  client = new LanguageClient("leadscore", "leadscore", serverOptions(), clientOptions());
  try {
    await client.start();
  } catch (err) {
    const command = serverOptions().command;
    vscode.window.showErrorMessage(
      `leadscore: could not start the language server (${command}): ${err.message}. ` +
        "Install it with `pip install 'leadscore[lsp]'`, or set `leadscore.server.command`.",
    );
  }
}

async function showSql() {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== "score" || !client) {
    return;
  }
  const dialect = vscode.workspace.getConfiguration("leadscore").get("sqlDialect", "duckdb");
  try {
    const sql = await client.sendRequest(ExecuteCommandRequest.type, {
      command: "leadscore.showSql",
      arguments: [editor.document.uri.toString(), dialect],
    });
    const doc = await vscode.workspace.openTextDocument({ language: "sql", content: sql });
    await vscode.window.showTextDocument(doc, vscode.ViewColumn.Beside, true);
  } catch (err) {
    vscode.window.showErrorMessage(`leadscore: ${err.message}`);
  }
}

async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand("leadscore.showSqlPreview", showSql),
    vscode.commands.registerCommand("leadscore.restartServer", async () => {
      if (client) {
        await client.stop();
      }
      await start();
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration("leadscore.server")) {
        await vscode.commands.executeCommand("leadscore.restartServer");
      }
    }),
  );
  await start();
}

async function deactivate() {
  if (client) {
    await client.stop();
  }
}

module.exports = { activate, deactivate };
