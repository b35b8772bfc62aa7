// The VS Code side of pyasm: the TextMate grammar (package.json) colours the text, and this
// starts `pyasm lsp` (the setting pyasm.server.path, `pyasm` on PATH by default) as the
// language server of every .pyasm file.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function start(context) {
  const config = vscode.workspace.getConfiguration("pyasm");
  const command = config.get("server.path", "pyasm");
  const args = ["lsp", ...config.get("server.args", [])];
  const server = { command, args };
  client = new LanguageClient(
    "pyasm",
    "pyasm language server",
    { run: server, debug: server },
    {
      documentSelector: [{ scheme: "file", language: "pyasm" }],
      initializationOptions: { debounceMs: config.get("debounceMs", 150) },
    }
  );
  return client.start().catch((e) => {
    vscode.window.showErrorMessage(`pyasm: could not start \`${command} lsp\` (set pyasm.server.path): ${e.message || e}`);
  });
}

function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand("pyasm.restartServer", async () => {
      if (client) {
        await client.stop();
      }
      await start(context);
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration("pyasm") && client) {
        await client.stop();
        await start(context);
      }
    })
  );
  return start(context);
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
