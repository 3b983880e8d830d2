"""The three summaries TensorBoard's HParams dashboard reads: experiment, session start, end."""

from google.protobuf import struct_pb2
from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

from ember._tensor import Tensor


def hparams(hparam_dict, metric_dict, hparam_domain_discrete=None):
    """(experiment, session_start_info, session_end_info) summaries for ``add_hparams``."""
    domains = hparam_domain_discrete or {}
    if not isinstance(domains, dict):
        raise TypeError("add_hparams: hparam_domain_discrete should be a dictionary")
    for name, values in domains.items():
        if (
            name not in hparam_dict
            or not isinstance(values, list)
            or not all(isinstance(v, type(hparam_dict[name])) for v in values)
        ):
            raise TypeError(
                f"add_hparams: hparam_domain_discrete[{name!r}] should be a list of the same "
                f"type as hparam_dict[{name!r}]"
            )
    start = plugin_data_pb2.SessionStartInfo()
    infos = []
    for name, value in hparam_dict.items():
        if value is None:
            continue
        if isinstance(value, Tensor):
            value = float(value.detach().cpu().numpy().reshape(-1)[0])
        if isinstance(value, (int, float)):  # a bool too, logged as 0 or 1 as PyTorch does
            kind, field = "DATA_TYPE_FLOAT64", "number_value"
        elif isinstance(value, str):
            kind, field = "DATA_TYPE_STRING", "string_value"
        else:
            raise ValueError(
                f"add_hparams: hparam {name!r} should be an int, float, str, bool or Tensor, "
                f"got {type(value).__name__}"
            )
        setattr(start.hparams[name], field, value)
        domain = None
        if name in domains:
            domain = struct_pb2.ListValue(
                values=[struct_pb2.Value(**{field: v}) for v in domains[name]]
            )
        infos.append(
            api_pb2.HParamInfo(name=name, type=api_pb2.DataType.Value(kind), domain_discrete=domain)
        )
    metrics = [api_pb2.MetricInfo(name=api_pb2.MetricName(tag=k)) for k in metric_dict]
    experiment = plugin_data_pb2.HParamsPluginData(
        experiment=api_pb2.Experiment(hparam_infos=infos, metric_infos=metrics),
        version=metadata.PLUGIN_DATA_VERSION,
    )
    session_start = plugin_data_pb2.HParamsPluginData(
        session_start_info=start, version=metadata.PLUGIN_DATA_VERSION
    )
    session_end = plugin_data_pb2.HParamsPluginData(
        session_end_info=plugin_data_pb2.SessionEndInfo(
            status=api_pb2.Status.Value("STATUS_SUCCESS")
        ),
        version=metadata.PLUGIN_DATA_VERSION,
    )
    return (
        _plugin_summary(metadata.EXPERIMENT_TAG, experiment),
        _plugin_summary(metadata.SESSION_START_INFO_TAG, session_start),
        _plugin_summary(metadata.SESSION_END_INFO_TAG, session_end),
    )


def _plugin_summary(tag, content):
    plugin = SummaryMetadata.PluginData(
        plugin_name=metadata.PLUGIN_NAME, content=content.SerializeToString()
    )
    return Summary(value=[Summary.Value(tag=tag, metadata=SummaryMetadata(plugin_data=plugin))])
