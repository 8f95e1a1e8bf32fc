# Removes the songcheck agent service. Keeps C:\ProgramData\songcheck (identity and undelivered results)
# unless -Purge is given. Run as Administrator:
#
#   powershell -ExecutionPolicy Bypass -File windows\uninstall.ps1 [-Purge]
param([switch]$Purge, [string]$Node = 'node.exe')
$ErrorActionPreference = 'Stop'
$agent = Join-Path $env:ProgramFiles 'songcheck\songcheck-agent.mjs'
if (-not (Test-Path $agent)) { $agent = Join-Path (Split-Path -Parent $PSScriptRoot) 'songcheck-agent.mjs' }
$nodeArgs = @($agent, 'service', 'uninstall')
if ($Purge) { $nodeArgs += '--purge' }
& (Get-Command $Node).Source @args
exit $LASTEXITCODE
